import { existsSync } from 'node:fs';
import request from 'supertest';
import { chromium, type Browser } from 'playwright-core';
import { seedDemoData } from '../../src/seed/demo-data';
import { CustomersPageDocument, UpsertCustomersDocument } from '../generated/graphql';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from '../helpers/app';
import { CHROMIUM, chromiumArgs, ensureConsoleBuilt } from '../helpers/browser';
import { createKey } from '../helpers/personal-data';
import { consoleWatch, logIn, newConsolePage, screenshot } from '../helpers/console';

/**
 * The Insights console (packages/console) in a real browser against a seeded
 * Rapport, with every host but the gateway unreachable. Every page's console
 * errors and uncaught exceptions are collected; the last test asserts there
 * were none.
 */
let app: TestApp;
let browser: Browser;
let origin: string;
/** A customer with personal and ordinary traits, made for these tests. */
let ada: string;
const watch = consoleWatch();
const newPage = (expected?: RegExp) => newConsolePage(browser, origin, watch, expected);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set RAPPORT_CHROMIUM`);
  ensureConsoleBuilt();
  app = await startTestApp({ gateway: true });
  origin = new URL(app.runtime.url!).origin;
  // The demo data set at a small scale, scored, with the demo's segments: what `npm start` shows a newcomer.
  await seedDemoData(app.database.url, { customers: 300, interactions: 6000, seed: 11 });
  await app.runtime.services.scores.recompute(['RFM', 'CLV', 'CHURN_RISK', 'CHURN_PROPENSITY', 'ENGAGEMENT']);
  for (const key of ['rfm-champions', 'rfm-at-risk', 'churn-risk-high']) await app.runtime.services.segments.createFromTemplate(key);
  const created = await app.graphql(UpsertCustomersDocument, {
    input: [
      {
        kind: 'PERSON',
        displayName: 'Ada Lovelace',
        identifiers: [{ type: 'EMAIL', value: 'ada@example.com' }],
        traits: { firstName: 'Ada', email: 'ada@example.com', plan: 'analytical-engine' },
      },
    ],
  });
  expect(created.errors).toBeUndefined();
  ada = created.data!.upsertCustomers.results[0]!.customer!.id;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs() });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
}, 120_000);

test('the console and its hashed files are served with a strict policy and the right caching', async () => {
  const page = await request(app.handler).get('/console');
  expect(page.status).toBe(200);
  expect(page.headers['content-type']).toContain('text/html');
  expect(page.headers['cache-control']).toBe('no-cache');
  const csp = page.headers['content-security-policy'];
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
  // No credential and no outside host in the page; no inline script.
  expect(page.text).not.toContain(TEST_ADMIN_KEY);
  expect(page.text).not.toMatch(/https?:\/\//);
  expect(page.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  const assets = [...page.text.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  expect(assets.length).toBeGreaterThanOrEqual(2);
  for (const asset of assets) {
    const res = await request(app.handler).get(asset);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toContain('immutable');
    expect(res.headers['content-security-policy']).toBeDefined();
  }
  const missing = await request(app.handler).get('/console/assets/index-00000000.js');
  expect(missing.status).toBe(404);
  expect(missing.body.code).toBe('NOT_FOUND');
  const traversal = await request(app.handler).get('/console/assets/..%2f..%2fpackage.json');
  expect(traversal.status).toBe(404);
});

test('logging in keeps the key in sessionStorage only, never in the URL, and a wrong key is refused', async () => {
  const { context, page } = await newPage(/status of 401 \(Unauthorized\)/);
  await page.goto(`${origin}/console/`);
  await page.getByLabel('API key').fill('not-a-key');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').getByText('This key is not valid').waitFor();

  await page.getByLabel('API key').fill(TEST_ADMIN_KEY);
  await page.getByRole('button', { name: 'Log in' }).click();
  const nav = page.getByRole('navigation', { name: 'Screens' });
  await nav.waitFor();
  expect(page.url()).not.toContain(TEST_ADMIN_KEY);
  expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([TEST_ADMIN_KEY]);
  expect(await page.evaluate(() => Object.keys(localStorage).length)).toBe(0);
  expect((await context.cookies()).length).toBe(0);

  // The five screens, by keyboard-reachable links.
  for (const name of ['Overview', 'Customers', 'Segments', 'Models', 'Connectors']) {
    await nav.getByRole('link', { name }).click();
    await page.getByRole('heading', { level: 1, name: new RegExp(name === 'Customers' ? 'Customer' : name) }).waitFor();
    expect(page.url()).not.toContain(TEST_ADMIN_KEY);
  }
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('API key').waitFor();
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  await context.close();
});

/** What the API says: how many customers match `filter`. */
async function apiCount(filter: Record<string, unknown> = {}): Promise<number> {
  const res = await app.graphql(CustomersPageDocument, { first: 1, filter });
  expect(res.errors).toBeUndefined();
  return res.data!.customers.totalCount;
}

test('Overview: headline counts, interactions by channel, the RFM grid, distributions and movements from the API', async () => {
  const { context, page } = await newPage();
  await logIn(page, origin, TEST_ADMIN_KEY);
  // Measured on a load with the key already in the tab (the login form is not the Overview's first paint).
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  const fcp = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime);
  console.log(`Overview first contentful paint: ${fcp === undefined ? 'not reported' : `${Math.round(fcp)} ms`} (demo data: 300 customers)`);

  const kpis = page.getByRole('group', { name: 'Headline counts' });
  await kpis.getByText('Customers', { exact: true }).waitFor();
  expect(await kpis.textContent()).toContain(`${(await apiCount()).toLocaleString('en')}Customers`);

  // The RFM grid: 25 cells whose counts add up to the customers with an RFM score, each linking to its customers.
  const rfmScored = await apiCount({ score: { kind: 'RFM' } });
  expect(rfmScored).toBeGreaterThan(0);
  const cells = page.locator('td.rfm-cell');
  await cells.first().waitFor();
  expect(await cells.count()).toBe(25);
  const counts = await cells.locator('.rfm-count').allTextContents();
  expect(counts.reduce((sum, text) => sum + Number(text.replace(/,/g, '')), 0)).toBe(rfmScored);
  const labels = await cells.locator('.rfm-code').allTextContents();
  expect(new Set(labels).size).toBe(25);
  expect(await cells.first().locator('a').getAttribute('href')).toMatch(/^#\/customers\?rfm=5-1$/);

  // Interactions per day: a chart with its table alternative, by channel.
  const interactions = page.getByRole('region', { name: /Interactions per day/ });
  // ECharts draws on a canvas once its chunk has loaded.
  await interactions.getByRole('img').locator('canvas').waitFor();
  const scores = page.getByRole('region', { name: 'Score distributions' });
  await scores.getByRole('img').first().locator('canvas').waitFor();
  await screenshot(page, 'overview');
  await interactions.getByRole('button', { name: 'Show table' }).click();
  const header = await interactions.locator('thead th').allTextContents();
  expect(header[0]).toBe('Day');
  expect(header.at(-1)).toBe('Total');
  expect(header.length).toBeGreaterThan(3);
  expect(await interactions.locator('tbody tr').count()).toBe(30);

  // A distribution per score kind, and the demo segments' movements.
  for (const kind of ['RFM (mean of R, F, M)', 'Customer lifetime value', 'Churn risk', 'Churn propensity', 'Engagement']) {
    await scores.getByRole('heading', { name: kind }).waitFor();
  }
  expect(await scores.getByRole('img').count()).toBeGreaterThanOrEqual(3);
  const movements = page.getByRole('region', { name: 'Biggest segment movements this week' });
  await movements.getByRole('link', { name: /Champions/ }).waitFor();
  await context.close();
});

test('Customer 360: an RFM cell lists its customers, and a customer shows profile, scores, timeline and segments', async () => {
  const { context, page } = await newPage();
  await logIn(page, origin, TEST_ADMIN_KEY);
  // The fullest cell of the grid, followed to its customers, then to the first of them.
  const cells = page.locator('td.rfm-cell');
  await cells.first().waitFor();
  const counts = (await cells.locator('.rfm-count').allTextContents()).map((t) => Number(t.replace(/,/g, '')));
  const fullest = counts.indexOf(Math.max(...counts));
  await cells.nth(fullest).locator('a').click();
  await page.getByRole('heading', { level: 1, name: 'Customer 360' }).waitFor();
  const list = page.getByRole('region', { name: /^RFM cell R\d F\d/ });
  await list.getByText(`${counts[fullest]!.toLocaleString('en')} customer`).waitFor();
  await list.locator('tbody tr').first().getByRole('link').click();

  await page.getByRole('heading', { level: 1, name: /^Customer 360: / }).waitFor();
  const id = decodeURIComponent(page.url().split('#/customers/')[1]!);
  const scores = page.getByRole('region', { name: 'Scores' });
  await scores.getByRole('article', { name: 'RFM score' }).locator('canvas').waitFor();
  const api = await app.graphql(CustomersPageDocument, { first: 1, filter: { id: { eq: id } } });
  expect(api.data!.customers.totalCount).toBe(1);
  const timeline = page.getByRole('list', { name: 'Interactions, latest first' });
  await timeline.locator('li').first().waitFor();
  expect(await timeline.locator('li').count()).toBeGreaterThan(0);
  await page.getByRole('region', { name: 'Segments' }).getByRole('heading', { name: 'History' }).waitFor();
  await screenshot(page, 'customer-360');

  // Search by identifier goes straight to the customer; the admin key sees the traits as they are.
  await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Customers' }).click();
  await page.getByLabel('Search by').selectOption('EMAIL');
  await page.getByLabel('Search text').fill('ada@example.com');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('heading', { level: 1, name: 'Customer 360: Ada Lovelace (person)' }).waitFor();
  expect(page.url()).toContain(`#/customers/${ada}`);
  const traits = page.getByRole('region', { name: 'Traits' });
  await traits.getByRole('cell', { name: 'ada@example.com' }).waitFor();
  await context.close();
});

test('Customer 360 with a key lacking pii:read: the name, identifiers and personal traits appear masked', async () => {
  const narrow = await createKey(app, ['customers:read']);
  const { context, page } = await newPage();
  await logIn(page, origin, narrow, `#/customers/${ada}`);
  await page.getByRole('heading', { level: 1, name: 'Customer 360: A••• (person)' }).waitFor();
  const traits = page.getByRole('region', { name: 'Traits' });
  const rows = traits.locator('tbody tr');
  await rows.first().waitFor();
  const shown = Object.fromEntries(await rows.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent))));
  expect(shown).toEqual({ email: '•••', firstName: '•••', plan: 'analytical-engine' });
  const identifiers = await page.getByRole('region', { name: 'Identifiers' }).locator('tbody').textContent();
  expect(identifiers).not.toContain('ada@example.com');
  expect(await page.locator('main').textContent()).not.toContain('Lovelace');
  await context.close();
});

test('no page reached another host, and none logged an error', () => {
  expect(watch.elsewhere).toEqual([]);
  expect(watch.problems).toEqual([]);
});
