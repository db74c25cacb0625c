import { UnrecoverableError } from 'bullmq';
import { QueuesDocument, RemoveJobDocument, RetryJobDocument, type QueuesQuery } from '../generated/graphql';
import { eventually, startTestApp, type TestApp } from '../helpers/app';
import { QUEUES } from '../../src/infra/queue';
import { SCOPES } from '../../src/modules/access/scopes';

/** A job that fails (for good: no retries) while `broken` holds, and completes once it is cleared; `hold` keeps it running. */
const FLAKY_JOB = 'ops.flaky';
const HELD_JOB = 'ops.held';

describe.each(['postgres', 'redis'] as const)('the operators’ queues API on the %s queue backend', (backend) => {
  let app: TestApp;
  let broken = true;
  let release: (() => void) | undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  beforeAll(async () => {
    app = await startTestApp({
      queue: backend,
      workers: true,
      onServices: (services) => {
        services.jobs.register(QUEUES.analytics, FLAKY_JOB, async () => {
          if (broken) throw new UnrecoverableError('the flaky dependency is down');
          return { ok: true };
        });
        services.jobs.register(QUEUES.analytics, HELD_JOB, () => held);
      },
    });
  });
  afterAll(async () => {
    release?.();
    await app.close();
  });

  const queuesNow = async () => {
    const { data, errors } = await app.graphql(QueuesDocument, { first: 50 });
    expect(errors).toBeUndefined();
    return data!.queues;
  };
  const analytics = (queues: QueuesQuery['queues']) => queues.find((q) => q.name === 'ANALYTICS')!;
  const enqueue = async (name: string) => String((await app.runtime.services.queues.queue(QUEUES.analytics).add(name, {}, { attempts: 1 })).id);

  test('lists every queue with its backend and counts, and a failed job with its reason', async () => {
    const initial = await queuesNow();
    expect(initial.map((q) => q.name).sort()).toEqual(['ANALYTICS', 'CONNECTORS', 'WEBHOOKS']);
    expect(initial.every((q) => q.backend === backend.toUpperCase())).toBe(true);
    const failedBefore = analytics(initial).counts.failed;

    const id = await enqueue(FLAKY_JOB);
    const queues = await eventually(async () => {
      const now = await queuesNow();
      // The counts and the job list are read apart; both must have caught up.
      return analytics(now).failedJobs.some((j) => j.id === id) && analytics(now).counts.failed === failedBefore + 1 ? now : undefined;
    });
    expect(analytics(queues).counts.failed).toBe(failedBefore + 1);
    expect(analytics(queues).failedJobs.find((j) => j.id === id)).toMatchObject({
      queue: 'ANALYTICS',
      name: FLAKY_JOB,
      state: 'failed',
      attemptsMade: 1,
      failedReason: 'the flaky dependency is down',
      finishedAt: expect.any(String),
    });
  });

  test('retryJob runs a failed job again; once its cause is fixed it completes', async () => {
    const id = await enqueue(FLAKY_JOB);
    await eventually(async () => (analytics(await queuesNow()).failedJobs.some((j) => j.id === id) ? true : undefined));
    const failed = analytics(await queuesNow()).counts.failed;

    broken = false;
    const { data, errors } = await app.graphql(RetryJobDocument, { queue: 'ANALYTICS', id });
    expect(errors).toBeUndefined();
    expect(data!.retryJob).toMatchObject({ id, name: FLAKY_JOB });
    expect(data!.retryJob.state).not.toBe('failed');
    const after = await eventually(async () => {
      const state = await app.runtime.services.queues.queue(QUEUES.analytics).getJobState(id);
      return state === 'completed' ? analytics(await queuesNow()) : undefined;
    });
    expect(after.counts.failed).toBe(failed - 1);
    expect(after.failedJobs.some((j) => j.id === id)).toBe(false);

    // A job that did not fail cannot be retried.
    const again = await app.graphql(RetryJobDocument, { queue: 'ANALYTICS', id });
    expect(again.errors![0].extensions).toMatchObject({ code: 'JOB_STATE_CONFLICT', field: 'id' });
    broken = true;
  });

  test('removeJob removes a failed job; a second removal or an unknown id is JOB_NOT_FOUND', async () => {
    const id = await enqueue(FLAKY_JOB);
    await eventually(async () => (analytics(await queuesNow()).failedJobs.some((j) => j.id === id) ? true : undefined));
    const failed = analytics(await queuesNow()).counts.failed;

    const { data, errors } = await app.graphql(RemoveJobDocument, { queue: 'ANALYTICS', id });
    expect(errors).toBeUndefined();
    expect(data!.removeJob).toMatchObject({ id, name: FLAKY_JOB, state: 'failed' });
    const after = analytics(await queuesNow());
    expect(after.counts.failed).toBe(failed - 1);
    expect(after.failedJobs.some((j) => j.id === id)).toBe(false);
    expect(await app.runtime.services.queues.queue(QUEUES.analytics).getJob(id)).toBeFalsy();

    for (const unknown of [id, 'no-such-job', '999999999']) {
      const gone = await app.graphql(RemoveJobDocument, { queue: 'ANALYTICS', id: unknown });
      expect(gone.errors![0].extensions).toMatchObject({ code: 'JOB_NOT_FOUND', field: 'id' });
      const retry = await app.graphql(RetryJobDocument, { queue: 'CONNECTORS', id: unknown });
      expect(retry.errors![0].extensions).toMatchObject({ code: 'JOB_NOT_FOUND', field: 'id' });
    }
    const empty = await app.graphql(RemoveJobDocument, { queue: 'ANALYTICS', id: '' });
    expect(empty.errors![0].extensions).toMatchObject({ code: 'VALIDATION_FAILED', field: 'id' });
  });

  test('a running job cannot be removed (JOB_STATE_CONFLICT), and stays', async () => {
    const id = await enqueue(HELD_JOB);
    await eventually(async () => ((await app.runtime.services.queues.queue(QUEUES.analytics).getJobState(id)) === 'active' ? true : undefined));
    const { errors } = await app.graphql(RemoveJobDocument, { queue: 'ANALYTICS', id });
    expect(errors![0].extensions).toMatchObject({ code: 'JOB_STATE_CONFLICT', field: 'id' });
    expect(errors![0].message).toContain('active');
    release!();
    await eventually(async () => ((await app.runtime.services.queues.queue(QUEUES.analytics).getJobState(id)) === 'completed' ? true : undefined));
  });

  test('failedJobs pages are bounded: first outside 1..100 is PAGE_SIZE_EXCEEDED', async () => {
    const { errors } = await app.graphql(QueuesDocument, { first: 101 });
    expect(errors![0].extensions).toMatchObject({ code: 'PAGE_SIZE_EXCEEDED', field: 'first' });
  });

  test('needs admin: a key with every other scope is FORBIDDEN', async () => {
    const { key } = await app.runtime.services.apiKeys.create({
      name: 'not-admin',
      scopes: SCOPES.filter((s) => s !== 'admin'),
      expiresAt: null,
      createdBy: 'test',
    });
    for (const [document, variables] of [
      [QueuesDocument, { first: 1 }],
      [RetryJobDocument, { queue: 'ANALYTICS', id: '1' }],
      [RemoveJobDocument, { queue: 'ANALYTICS', id: '1' }],
    ] as const) {
      const response = await app.graphqlAs(key, document as never, variables as never);
      expect(response.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'admin' });
    }
  });
});
