import { matchesScoreChange } from '../src/modules/realtime/score-change-filter';
import { SubscriberQueue, type QueueItem } from '../src/modules/realtime/subscriber-queue';

/** The per-subscriber queue: bounded memory for slow readers, the per-second limit, and ending while a read waits. */
describe('a subscriber queue', () => {
  const queue = (options: Partial<ConstructorParameters<typeof SubscriberQueue<number>>[0]> = {}) => {
    let now = 0;
    let closed = 0;
    const q = new SubscriberQueue<number>({ capacity: 3, perSecond: 1_000, onClose: () => closed++, now: () => now, ...options });
    return { q, tick: (ms: number) => (now += ms), closed: () => closed };
  };
  const read = async (q: SubscriberQueue<number>, n: number) => {
    const items: QueueItem<number>[] = [];
    for (let i = 0; i < n; i++) items.push((await q.next()).value!);
    return items;
  };

  test('a reader that falls behind holds at most `capacity` events and then reads a lagged count of those dropped', async () => {
    const { q } = queue({ perSecond: 10_000 });
    for (let i = 1; i <= 1_000; i++) q.push(i);
    expect(q.size).toBe(3);
    const [lagged, ...events] = await read(q, 4);
    expect(lagged).toMatchObject({ kind: 'lagged', dropped: 997 });
    expect(events).toEqual([998, 999, 1_000].map((value) => ({ kind: 'event', value })));
    // Caught up: the next event is delivered as it comes, with no lagged notice.
    const waiting = q.next();
    q.push(1_001);
    expect((await waiting).value).toEqual({ kind: 'event', value: 1_001 });
  });

  test('one event more than the per-second limit ends it with SUBSCRIPTION_EVENT_RATE_EXCEEDED; a new second starts afresh', async () => {
    const { q, tick, closed } = queue({ perSecond: 2, capacity: 100 });
    q.push(1);
    q.push(2);
    tick(1_000);
    q.push(3);
    q.push(4);
    expect(closed()).toBe(0);
    q.push(5);
    expect(closed()).toBe(1);
    // The events accepted are read first, then the error.
    const [, , , , error] = await read(q, 5);
    expect(error.kind === 'error' && error.error.code).toBe('SUBSCRIPTION_EVENT_RATE_EXCEEDED');
    expect((await q.next()).done).toBe(true);
    q.push(6);
    expect(q.size).toBe(0);
  });

  test('return() ends a read that is waiting, and releases the subscription once', async () => {
    const { q, closed } = queue();
    const waiting = q.next();
    await q.return();
    expect((await waiting).done).toBe(true);
    await q.return();
    expect(closed()).toBe(1);
  });
});

describe('scoreChanged filters', () => {
  const change = (previousValue: number | null, value: number | null, label: string | null = null) => ({ previousValue, value, label });

  test('crossesAbove: from below the threshold (or no score) to at least it', () => {
    expect(matchesScoreChange({ crossesAbove: 0.7 }, change(0.6, 0.7))).toBe(true);
    expect(matchesScoreChange({ crossesAbove: 0.7 }, change(null, 0.9))).toBe(true);
    expect(matchesScoreChange({ crossesAbove: 0.7 }, change(0.8, 0.9))).toBe(false);
    expect(matchesScoreChange({ crossesAbove: 0.7 }, change(0.5, 0.6))).toBe(false);
  });

  test('crossesBelow: from at least the threshold to below it (or removed)', () => {
    expect(matchesScoreChange({ crossesBelow: 0.3 }, change(0.3, 0.2))).toBe(true);
    expect(matchesScoreChange({ crossesBelow: 0.3 }, change(0.5, null))).toBe(true);
    expect(matchesScoreChange({ crossesBelow: 0.3 }, change(0.2, 0.1))).toBe(false);
  });

  test('minChange and labelIn, all conditions together', () => {
    expect(matchesScoreChange({ minChange: 0.2 }, change(0.5, 0.6))).toBe(false);
    expect(matchesScoreChange({ minChange: 0.2 }, change(0.5, 0.2))).toBe(true);
    expect(matchesScoreChange({ labelIn: ['HIGH'] }, change(0.5, 0.9, 'HIGH'))).toBe(true);
    expect(matchesScoreChange({ labelIn: ['HIGH'], crossesAbove: 0.95 }, change(0.5, 0.9, 'HIGH'))).toBe(false);
    expect(matchesScoreChange({}, change(0.5, 0.5))).toBe(true);
  });
});
