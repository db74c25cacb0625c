import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { ScoreModelsDocument } from '../generated/graphql';
import { eventually, type TestApp } from '../helpers/app';
import { CHROMIUM, chromiumArgs, ensureConsoleBuilt } from '../helpers/browser';
import { consoleWatch, logIn, newConsolePage, screenshot } from '../helpers/console';
import { startSeededConsoleApp } from '../helpers/console-data';

/**
 * The Models screen (#/models) in a real browser against a seeded Rapport:
 * every score model the API lists, and a recompute started with the button
 * that the screen follows until COMPLETED, after which the fitted parameters
 * (the BG/NBD table) are on screen.
 */
let app: TestApp;
let browser: Browser;
let origin: string;
const watch = consoleWatch();

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

test('lists every score model, and a recompute from the button reaches COMPLETED with the fitted parameters shown', async () => {
  const models = (await app.graphql(ScoreModelsDocument)).data!.scoreModels;
  expect(models.length).toBeGreaterThanOrEqual(5);
  const { context, page } = await newConsolePage(browser, origin, watch);
  await logIn(page, origin, app.auth.replace('Bearer ', ''), '#/models');
  await page.getByRole('heading', { level: 1, name: 'Models' }).waitFor();
  for (const model of models) await page.getByRole('region', { name: model.kind, exact: true }).getByText(model.description).waitFor();
  // Nothing is fitted on a fresh seed.
  expect(models.find((m) => m.kind === 'CLV')!.fittedAt).toBeNull();

  await page.getByRole('checkbox', { name: 'CLV' }).check();
  await page.getByRole('checkbox', { name: 'RFM' }).check();
  await page.getByRole('button', { name: 'Recompute CLV, RFM' }).click();
  await page.getByTestId('job-status').getByText('COMPLETED').waitFor({ timeout: 120_000 });
  expect(await page.getByRole('status').getByText('100%').count()).toBeGreaterThan(0);

  // The screen reloads the models: the BG/NBD parameters the API has are in the CLV table.
  const clv = await eventually(async () => {
    const m = (await app.graphql(ScoreModelsDocument)).data!.scoreModels.find((s) => s.kind === 'CLV')!;
    return m.fittedAt ? m : undefined;
  });
  const table = page.getByRole('table', { name: 'CLV fitted parameters' });
  await table.waitFor();
  // One row per fitted parameter (nested ones as bgNbd.r …), as the API has them.
  const names = (await table.locator('tbody code').allTextContents()).sort();
  expect(names).toEqual(flatNames(clv.parameters).sort());
  expect(names.some((n) => /(^|\.)alpha$/.test(n))).toBe(true);
  await page
    .getByRole('region', { name: 'CLV', exact: true })
    .getByText(`${clv.sampleSize!.toLocaleString('en')} customers`)
    .waitFor();
  await screenshot(page, 'models');
  await context.close();
}, 180_000);

/** The parameter names as the screen lists them: nested objects flattened to a.b, two levels deep. */
function flatNames(value: unknown, prefix = '', depth = 0): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, v]) => {
    const name = prefix ? `${prefix}.${key}` : key;
    return typeof v === 'object' && v !== null && !Array.isArray(v) && depth < 2
      ? flatNames(v, name, depth + 1)
      : Array.isArray(v) && v.length > 12
        ? []
        : [name];
  });
}

test('no page reached another host, and none logged an error', () => {
  expect(watch.elsewhere).toEqual([]);
  expect(watch.problems).toEqual([]);
});
