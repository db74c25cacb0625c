import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import {
  PreviewSegmentDocument,
  RecomputeJobDocument,
  RecomputeScoresDocument,
  SegmentDetailDocument,
  SegmentsPageDocument,
  type SegmentRuleInput,
} from '../generated/graphql';
import { eventually, type TestApp } from '../helpers/app';
import { CHROMIUM, chromiumArgs, ensureConsoleBuilt } from '../helpers/browser';
import { consoleWatch, logIn, newConsolePage, screenshot } from '../helpers/console';
import { startSeededConsoleApp } from '../helpers/console-data';
import { createKey, WITHOUT_PII } from '../helpers/personal-data';

/**
 * The segment builder (#/segments) in a real browser against a seeded
 * Rapport: a rule built with the visual editor previews what the API's
 * previewSegment answers for the same rule, problems are shown beside the
 * condition at fault, saving creates the segment, and a key without pii:read
 * sees the preview's sample masked.
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
  // Scores, so that score conditions and the RFM templates match someone.
  const job = (await app.graphql(RecomputeScoresDocument, { kinds: ['RFM', 'CLV'] })).data!.recomputeScores;
  await eventually(async () => ((await app.graphql(RecomputeJobDocument, { id: job.id })).data?.recomputeJob?.status === 'COMPLETED' ? true : undefined), {
    timeoutMs: 120_000,
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

const previewCount = async (page: Page) => Number((await page.getByTestId('preview-count').textContent())!.replace(/,/g, ''));

async function apiPreview(rule: SegmentRuleInput) {
  const { data, errors } = await app.graphql(PreviewSegmentDocument, { rule });
  expect(errors).toBeUndefined();
  return data!.previewSegment;
}

/** Waits until the preview shows a count for the rule as it stands (the debounce passed and the answer came). */
async function settledCount(page: Page, expected: number): Promise<number> {
  await page.getByTestId('preview-count').getByText(expected.toLocaleString('en'), { exact: true }).waitFor({ timeout: 15_000 });
  return previewCount(page);
}

test('a rule built in the editor previews the count previewSegment answers, and saving creates the segment', async () => {
  const { context, page } = await newConsolePage(browser, origin, watch);
  await logIn(page, origin, app.auth.replace('Bearer ', ''), '#/segments');
  await page.getByRole('heading', { level: 1, name: 'Segments' }).waitFor();

  // The editor starts with one attribute condition in an "and" group: make it transactionCount ≥ 3.
  const first = page.getByRole('group', { name: 'Attribute condition rule.and[0]' });
  await first.getByLabel('Field').fill('transactionCount');
  await first.getByLabel('Operator').selectOption('GTE');
  await first.getByLabel('Value').fill('3');
  // And a behaviour window: at least 2 purchases in the last 365 days.
  await page.getByRole('button', { name: 'Add Behaviour to rule' }).click();
  const second = page.getByRole('group', { name: 'Behaviour condition rule.and[1]' });
  await second.getByLabel('Interaction type').fill('purchase');
  await second.getByLabel('Last days').fill('365');
  await second.getByLabel('Operator').selectOption('GTE');
  await second.getByLabel('Value').fill('2');

  const rule: SegmentRuleInput = {
    and: [
      { attribute: { field: 'transactionCount', op: 'GTE', value: 3 } },
      { behavior: { type: 'purchase', aggregate: 'COUNT', lastDays: 365, op: 'GTE', value: 2 } },
    ],
  };
  const expected = await apiPreview(rule);
  expect(expected.count).toBeGreaterThan(0);
  expect(expected.count).toBeLessThan(400);
  expect(await settledCount(page, expected.count)).toBe(expected.count);
  // The sample is the API's sample.
  const sampleTable = page.getByRole('table', { name: 'Sample of matching customers' });
  for (const customer of expected.sample.slice(0, 5)) await sampleTable.getByRole('link', { name: customer.displayName! }).waitFor();

  // Several problems at once, each beside the condition at fault (details.problems).
  await first.getByLabel('Field').fill('shoeSize');
  await second.getByLabel('Last days').fill('0');
  await first.getByRole('alert').getByText('rule.and[0].attribute.field').waitFor();
  await second.getByRole('alert').getByText('rule.and[1].behavior.lastDays').waitFor();
  expect(await first.getByLabel('Field').getAttribute('aria-invalid')).toBe('true');
  expect(await second.getByLabel('Last days').getAttribute('aria-invalid')).toBe('true');
  await first.getByLabel('Field').fill('transactionCount');
  await second.getByLabel('Last days').fill('365');
  expect(await settledCount(page, expected.count)).toBe(expected.count);
  await screenshot(page, 'segments');

  // Save as a dynamic segment: the detail page shows it filled, and the API has it with the editor's rule.
  await page.getByLabel('Name', { exact: true }).fill('Frequent buyers (browser test)');
  await page.getByRole('button', { name: 'Save segment' }).click();
  await page.waitForURL(/#\/segments\/[^/]+$/);
  const id = decodeURIComponent(page.url().split('/').pop()!);
  await page.getByTestId('segment-status').getByText('FRESH').waitFor({ timeout: 30_000 });
  await page.getByTestId('segment-size').getByText(expected.count.toLocaleString('en'), { exact: true }).waitFor();
  const saved = (await app.graphql(SegmentDetailDocument, { id, first: 10 })).data!.segment!;
  expect(saved).toMatchObject({ name: 'Frequent buyers (browser test)', kind: 'DYNAMIC', size: expected.count });
  expect(saved.rule).toEqual(rule);

  // The size history, as a table behind the chart's toggle.
  await page.getByRole('button', { name: 'Show table' }).click();
  await page
    .getByRole('table', { name: /Members of Frequent buyers/ })
    .getByRole('cell', { name: expected.count.toLocaleString('en'), exact: true })
    .first()
    .waitFor();

  // Why a sampled customer is in it: every condition holds.
  await page.getByLabel('Customer id').fill(expected.sample[0]!.id);
  await page.getByRole('button', { name: 'Explain' }).click();
  await page.getByRole('status').getByText('is a member').waitFor();
  const explanation = page.getByRole('table', { name: 'Conditions of the rule for this customer' });
  await explanation.getByText('rule.and[1].behavior').waitFor();
  expect(await explanation.getByText('✗ no').count()).toBe(0);
  await screenshot(page, 'segment-detail');
  await context.close();
}, 120_000);

test('a template fills the editor or creates a segment', async () => {
  const { context, page } = await newConsolePage(browser, origin, watch);
  await logIn(page, origin, app.auth.replace('Bearer ', ''), '#/segments');
  const templates = page.getByRole('table', { name: 'Segment templates' });
  await templates.getByRole('button', { name: 'Edit template Churn risk: high' }).click();
  const score = page.getByRole('group', { name: /^Score condition rule/ });
  expect(await score.getByLabel('Score kind').inputValue()).toBe('CHURN_RISK');
  expect(await score.getByLabel('Labels (comma-separated)').inputValue()).toBe('HIGH');
  const count = (await apiPreview({ score: { kind: 'CHURN_RISK', labelIn: ['HIGH'] } })).count;
  expect(count).toBeGreaterThan(0);
  expect(await settledCount(page, count)).toBe(count);

  await templates.getByRole('button', { name: 'Create segment from template RFM: Champions' }).click();
  await page.waitForURL(/#\/segments\/[^/]+$/);
  await page.getByRole('heading', { level: 2, name: 'RFM: Champions' }).waitFor();
  const segments = (await app.graphql(SegmentsPageDocument, { first: 100 })).data!.segments.edges.map((e) => e.node);
  const champions = segments.find((s) => s.name === 'RFM: Champions');
  expect(champions?.kind).toBe('DYNAMIC');
  await page.getByTestId('segment-status').getByText('FRESH').waitFor({ timeout: 30_000 });
  const size = (await app.graphql(SegmentDetailDocument, { id: champions!.id, first: 1 })).data!.segment!.size;
  expect(size).toBeGreaterThan(0);
  await page.getByTestId('segment-size').getByText(size.toLocaleString('en'), { exact: true }).waitFor();
  await context.close();
}, 60_000);

test('without pii:read the preview sample shows masked names and identifiers', async () => {
  const narrow = await createKey(app, WITHOUT_PII);
  const rule: SegmentRuleInput = { and: [{ attribute: { field: 'transactionCount', op: 'GTE', value: 1 } }] };
  const full = await apiPreview(rule);
  const names = full.sample.map((c) => c.displayName!);
  expect(names.length).toBeGreaterThan(0);

  const { context, page } = await newConsolePage(browser, origin, watch);
  await logIn(page, origin, narrow, '#/segments');
  // The editor's first rule is transactionCount ≥ 1.
  await settledCount(page, full.count);
  const table = page.getByRole('table', { name: 'Sample of matching customers' });
  const shown = await table.locator('tbody tr td:first-child').allTextContents();
  expect(shown.length).toBe(names.length);
  for (const text of shown) expect(text).toContain('•');
  const page1 = await table.textContent();
  for (const name of names) expect(page1).not.toContain(name);
  const withEmails = await request(app.handler)
    .post('/graphql')
    .set('authorization', app.auth)
    .send({ query: 'query($rule: SegmentRuleInput!) { previewSegment(rule: $rule) { sample { identifiers { type value } } } }', variables: { rule } });
  const emails: string[] = withEmails.body.data.previewSegment.sample.flatMap((c: { identifiers: { type: string; value: string }[] }) =>
    c.identifiers.filter((i) => i.type === 'email').map((i) => i.value),
  );
  expect(emails.length).toBeGreaterThan(0);
  for (const email of emails) expect(page1).not.toContain(email);
  // The emails are shown, masked.
  expect(await table.locator('tbody tr td:nth-child(3)').first().textContent()).toContain('•');
  await context.close();
}, 60_000);

test('no page reached another host, and none logged an error', () => {
  expect(watch.elsewhere).toEqual([]);
  expect(watch.problems).toEqual([]);
});
