import { existsSync } from 'node:fs';
import request from 'supertest';
import { chromium, type Browser } from 'playwright-core';
import { UpsertCustomersDocument } from '../generated/graphql';
import { startTestApp, TEST_ADMIN_KEY, type TestApp } from '../helpers/app';
import { CHROMIUM, chromiumArgs } from '../helpers/browser';

/**
 * GraphiQL is the page `npm start` points every newcomer to. It must work on
 * a machine that reaches no other host (a locked-down network), and run no
 * code from anywhere but the gateway on the page a key is pasted into.
 */
let app: TestApp;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set RAPPORT_CHROMIUM`);
  app = await startTestApp({ gateway: true });
  origin = new URL(app.runtime.url!).origin;
  const created = await app.graphql(UpsertCustomersDocument, {
    input: [
      { kind: 'PERSON', displayName: 'Ada Lovelace', identifiers: [{ type: 'EMAIL', value: 'ada@example.com' }] },
      { kind: 'PERSON', displayName: 'Alan Turing', identifiers: [{ type: 'EMAIL', value: 'alan@example.com' }] },
      { kind: 'PERSON', displayName: 'Grace Hopper', identifiers: [{ type: 'EMAIL', value: 'grace@example.com' }] },
    ],
  });
  expect(created.errors).toBeUndefined();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs() });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

test('the page and its assets come from the gateway, under a same-origin Content-Security-Policy', async () => {
  const page = await request(app.handler).get('/graphql').set('accept', 'text/html');
  expect(page.status).toBe(200);
  expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
  expect(page.text).not.toMatch(/https?:\/\//);
  const assets = [...page.text.matchAll(/(?:src|href)="(\/graphiql\/[0-9a-f]{16}\/[a-z.]+)"/g)].map((m) => m[1]!);
  expect(assets.length).toBeGreaterThanOrEqual(3);
  for (const asset of assets) {
    const res = await request(app.handler).get(asset);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toContain('immutable');
  }
  // Another version's asset (a page cached from before an upgrade) is not found.
  const stale = await request(app.handler).get(assets[0]!.replace(/\/[0-9a-f]{16}\//, '/0000000000000000/'));
  expect(stale.status).toBe(404);
  expect(stale.body.code).toBe('NOT_FOUND');
});

test('GraphiQL renders and runs a query with every other host unreachable', async () => {
  const context = await browser.newContext();
  const elsewhere: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.origin === origin) return route.continue();
    elsewhere.push(url.href);
    return route.abort('blockedbyclient');
  });
  // What a developer does by hand: the header pasted into the Headers tab; the page's own query is run.
  await context.addInitScript((headers) => localStorage.setItem('graphiql:headers', headers), JSON.stringify({ Authorization: `Bearer ${TEST_ADMIN_KEY}` }));
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  await page.goto(`${origin}/graphql`);
  const run = page.locator('.graphiql-execute-button');
  await run.waitFor({ state: 'visible' });
  await run.click();
  const result = page.locator('.result-window');
  await result.getByText('"totalCount": 3').waitFor();

  expect(elsewhere).toEqual([]);
  expect(problems).toEqual([]);
  await context.close();
});
