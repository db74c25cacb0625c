import { createLogger } from '../../infra/logger';
import { RefreshGatherer } from './customers.jobs';

const silent = createLogger('silent');

test('requests within the gathering window are enqueued together, once per customer', async () => {
  const sent: string[][] = [];
  const gatherer = new RefreshGatherer(async (ids) => void sent.push(ids), silent, 50);
  await gatherer.request(['1', '2']);
  await gatherer.request(['2', '3']);
  expect(sent).toEqual([]);
  await new Promise((resolve) => setTimeout(resolve, 120));
  expect(sent).toEqual([['1', '2', '3']]);
  await gatherer.request(['4']);
  await new Promise((resolve) => setTimeout(resolve, 120));
  expect(sent).toEqual([['1', '2', '3'], ['4']]);
});

test('flush enqueues what is gathered at once and waits for it; a failing enqueue is logged, never thrown', async () => {
  const sent: string[][] = [];
  let fail = true;
  const gatherer = new RefreshGatherer(
    async (ids) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (fail) throw new Error('queue down');
      sent.push(ids);
    },
    silent,
    60_000,
  );
  await gatherer.request(['7']);
  await expect(gatherer.flush()).resolves.toBeUndefined();
  expect(sent).toEqual([]);
  fail = false;
  await gatherer.request(['8', '9']);
  await gatherer.flush();
  expect(sent).toEqual([['8', '9']]);
  await gatherer.flush();
  expect(sent).toHaveLength(1);
});

test('a large gathering is enqueued without waiting for the window', async () => {
  const sent: string[][] = [];
  const gatherer = new RefreshGatherer(async (ids) => void sent.push(ids), silent, 60_000);
  await gatherer.request(Array.from({ length: 5_000 }, (_, i) => String(i + 1)));
  await gatherer.flush();
  expect(sent.map((ids) => ids.length)).toEqual([5_000]);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a customer enqueued within the debounce is held back, then enqueued once with the other repeats', async () => {
  const sent: string[][] = [];
  const gatherer = new RefreshGatherer(async (ids) => void sent.push(ids), silent, 30, 600);
  await gatherer.request(['1', '2']);
  await sleep(100);
  expect(sent).toEqual([['1', '2']]);
  // '1' and '2' changed again: held; '3' is new: it goes with the next window.
  await gatherer.request(['1']);
  await gatherer.request(['1', '3']);
  await gatherer.request(['2']);
  await sleep(100);
  expect(sent).toEqual([['1', '2'], ['3']]);
  await sleep(700);
  expect(sent).toEqual([['1', '2'], ['3'], ['1', '2']]);
});

test('a customer not enqueued within the debounce goes with the next window again', async () => {
  const sent: string[][] = [];
  const gatherer = new RefreshGatherer(async (ids) => void sent.push(ids), silent, 30, 300);
  await gatherer.request(['5']);
  await sleep(400);
  await gatherer.request(['5']);
  await sleep(150);
  expect(sent).toEqual([['5'], ['5']]);
});

test('flush enqueues the held-back repeats too', async () => {
  const sent: string[][] = [];
  const gatherer = new RefreshGatherer(async (ids) => void sent.push(ids), silent, 30, 60_000);
  await gatherer.request(['8']);
  await gatherer.flush();
  await gatherer.request(['8', '9']);
  expect(sent).toEqual([['8']]);
  await gatherer.flush();
  expect(sent).toEqual([['8'], ['9'], ['8']]);
});
