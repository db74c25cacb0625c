import { Writable } from 'node:stream';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { SpanKind, trace } from '@opentelemetry/api';
import request from 'supertest';
import { print } from 'graphql';
import { RecomputeScoresDocument, RecordInteractionsDocument } from '../generated/graphql';
import { eventually, startTestApp, TEST_ADMIN_KEY, type TestApp } from '../helpers/app';
import { createLogger } from '../../src/infra/logger';
import { QUEUES } from '../../src/infra/queue';
import { inJobSpan, TRACE_CONTEXT_KEY } from '../../src/infra/tracing';

// A real SDK, registered the way docs/operations.md says a deployment does it; spans are kept in memory.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
afterAll(() => provider.shutdown());

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = (traceId: string) => `00-${traceId}-00f067aa0ba902b7-01`;

describe.each(['postgres', 'redis'] as const)('tracing on the %s queue backend', (backend) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ queue: backend, workers: true });
  });
  afterAll(() => app.close());

  const post = (traceId: string, document: Parameters<typeof print>[0], variables: unknown) =>
    request(app.handler)
      .post('/graphql')
      .set('authorization', `Bearer ${TEST_ADMIN_KEY}`)
      .set('traceparent', traceparent(traceId))
      .send({ query: print(document), variables });

  test('a request continues the caller’s trace, and the job it enqueues carries it to the worker’s span', async () => {
    const traceId = backend === 'redis' ? TRACE_ID.replace(/^4/, '5') : TRACE_ID;
    const response = await post(traceId, RecomputeScoresDocument, { kinds: ['ENGAGEMENT'] });
    expect(response.body.errors).toBeUndefined();
    const jobId = response.body.data.recomputeScores.id as string;

    // The job's data carries the request's trace context…
    const job = await app.runtime.services.queues.queue(QUEUES.analytics).getJob(jobId);
    const carried = (job!.data as Record<string, { traceparent: string }>)[TRACE_CONTEXT_KEY];
    expect(carried.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));

    // …and the worker's span joins that trace, as a child of the request's span.
    const spans = await eventually(
      async () => {
        const finished = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
        return finished.some((s) => s.name === 'job scores.recompute') ? finished : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const worker = spans.find((s) => s.name === 'job scores.recompute')!;
    expect(server.name).toBe('graphql mutation recomputeScores');
    expect(server.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(worker.kind).toBe(SpanKind.CONSUMER);
    expect(worker.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(worker.attributes['messaging.destination.name']).toBe('analytics');
  }, 90_000);

  test('the stats refresh an ingest enqueues runs in the ingest request’s trace', async () => {
    const traceId = backend === 'redis' ? 'a'.repeat(32) : 'b'.repeat(32);
    const response = await post(traceId, RecordInteractionsDocument, {
      input: [
        {
          customer: { identifiers: [{ type: 'email', value: `trace-${backend}@example.com` }] },
          channel: 'web',
          type: 'page_view',
          occurredAt: new Date(Date.now() - 1_000).toISOString(),
          source: 'tracing-test',
          externalId: `t-${backend}`,
        },
      ],
    });
    expect(response.body.data.recordInteractions.accepted).toBe(1);
    await eventually(async () =>
      exporter.getFinishedSpans().some((s) => s.spanContext().traceId === traceId && s.name === 'job customer.refresh') ? true : undefined,
    );
  });
});

test('log lines written inside a traced job carry its trace_id and span_id', async () => {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger('info', {}, destination);
  const data = { [TRACE_CONTEXT_KEY]: { traceparent: traceparent(TRACE_ID) } };
  let spanId: string | undefined;
  await inJobSpan('analytics', { id: '1', name: 'log.test', data, attemptsMade: 0 }, async () => {
    spanId = trace.getActiveSpan()!.spanContext().spanId;
    logger.info('inside the job');
  });
  logger.info('outside any span');
  expect(lines[0]).toMatchObject({ msg: 'inside the job', trace_id: TRACE_ID, span_id: spanId });
  expect(lines[1].trace_id).toBeUndefined();
  expect(lines[1].span_id).toBeUndefined();
});
