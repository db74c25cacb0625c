import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { ConnectionsDocument, ConnectorsDocument } from '../generated/graphql';
import type { TestApp } from '../helpers/app';
import { CHROMIUM, chromiumArgs, ensureConsoleBuilt } from '../helpers/browser';
import { consoleWatch, logIn, newConsolePage, screenshot } from '../helpers/console';
import { startSeededConsoleApp } from '../helpers/console-data';

/**
 * The Connectors screen (#/connectors) in a real browser: the installed
 * connectors the API lists, a connection created with the form generated from
 * the webhook connector's config schema (problems shown beside the fields at
 * fault), and its secret never shown back.
 */
let app: TestApp;
let browser: Browser;
let origin: string;
const watch = consoleWatch();
const SECRET = 'whsec_console_browser_0123456789';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium, or set RAPPORT_CHROMIUM`);
  ensureConsoleBuilt();
  app = await startSeededConsoleApp();
  origin = new URL(app.runtime.url!).origin;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs() });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

test('lists the installed connectors, and the generated form creates a connection whose secret is never shown', async () => {
  const connectors = (await app.graphql(ConnectorsDocument)).data!.connectors;
  expect(connectors.map((c) => c.id)).toContain('webhook');
  // The console shows problems beside 400-answers on purpose below; Chromium logs those.
  const { context, page } = await newConsolePage(browser, origin, watch, /status of 400 \(Bad Request\)/);
  await logIn(page, origin, app.auth.replace('Bearer ', ''), '#/connectors');
  await page.getByRole('heading', { level: 1, name: 'Connectors' }).waitFor();
  const installed = page.getByRole('table', { name: 'Installed connectors' });
  for (const c of connectors) await installed.getByText(c.id, { exact: true }).waitFor();

  const form = page.getByRole('form', { name: 'New connection' });
  await form.getByLabel('Connector').selectOption('webhook');
  // Generated from the schema: a password input for the secret, a fieldset for the mapping, required marks.
  const secret = form.getByLabel(/^signingSecret/);
  expect(await secret.getAttribute('type')).toBe('password');
  expect(await secret.getAttribute('aria-required')).toBe('true');
  expect(await form.getByLabel(/^toleranceSeconds/).getAttribute('type')).toBe('number');
  await form.getByRole('group', { name: /mapping/ }).waitFor();

  // Too short a secret and a missing mapping field: both refused, each shown beside its input.
  await form.getByLabel('Connection name').fill('Shop events (browser)');
  await secret.fill('short');
  await form.getByLabel(/^mapping\.occurredAt/).fill('timestamp');
  await form.getByLabel(/^mapping\.email/).fill('user.email');
  await form.getByRole('button', { name: 'Create connection' }).click();
  const externalId = form.getByLabel(/^mapping\.externalId/);
  await page.waitForFunction(() => document.querySelectorAll('form [aria-invalid="true"]').length >= 2);
  expect(await externalId.getAttribute('aria-invalid')).toBe('true');
  expect(await secret.getAttribute('aria-invalid')).toBe('true');
  // The secret typed is gone from the form once sent.
  expect(await secret.inputValue()).toBe('');

  await secret.fill(SECRET);
  await externalId.fill('id');
  await form.getByRole('button', { name: 'Create connection' }).click();
  await form.getByRole('status').getByText('Created Shop events (browser)').waitFor();
  expect(await secret.inputValue()).toBe('');

  const created = (await app.graphql(ConnectionsDocument, { first: 50 }))
    .data!.connections.edges.map((e) => e.node)
    .find((c) => c.name === 'Shop events (browser)');
  expect(created).toMatchObject({ connector: 'webhook', status: 'ACTIVE' });
  expect((created!.config as Record<string, unknown>).signingSecret).toBe('[redacted]');
  expect((created!.config as { mapping: Record<string, unknown> }).mapping).toMatchObject({ externalId: 'id', occurredAt: 'timestamp', email: 'user.email' });

  const list = page.getByRole('table', { name: 'Connections' });
  await list.getByText('Shop events (browser)').waitFor();
  await page.getByText('Shop events (browser): config and runs').click();
  await page.getByLabel('Config of Shop events (browser)').getByText('[redacted]').waitFor();
  expect(await page.content()).not.toContain(SECRET);
  await screenshot(page, 'connectors');
  await context.close();
}, 120_000);

test('no page reached another host, and none logged an error', () => {
  expect(watch.elsewhere).toEqual([]);
  expect(watch.problems).toEqual([]);
});
