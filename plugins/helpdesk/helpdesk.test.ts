import { createTestContext, runConformanceSuite } from '@rapport/connector-kit/testing';
import { RateLimitedError } from '@rapport/connector-kit';
import helpdesk, { type HelpdeskState } from './index';
import { makeTickets, startFakeHelpdeskApi, type FakeHelpdeskApi } from './fake-api';

let api: FakeHelpdeskApi;
beforeAll(async () => {
  api = await startFakeHelpdeskApi({ tickets: makeTickets(7) });
});
afterAll(() => api.close());

const staticConfig = { baseUrl: 'http://127.0.0.1:1', apiToken: 'test-token-123', pageSize: 3 };
const liveConfig = () => ({ ...staticConfig, baseUrl: api.url });

/** The fake API listens on loopback, which ctx.http refuses unless the test allowlists it. */
const egress = { allowedHosts: ['127.0.0.1'] };

runConformanceSuite(helpdesk, {
  egress,
  validConfigs: [staticConfig, { ...staticConfig, startAt: '2024-01-01T00:00:00Z' }],
  invalidConfigs: [
    { config: { ...staticConfig, baseUrl: 'not a url' }, field: 'baseUrl' },
    { config: { baseUrl: 'http://127.0.0.1:1' }, field: 'apiToken' },
    { config: { ...staticConfig, pageSize: 0 }, field: 'pageSize' },
  ],
  secretFields: ['apiToken'],
  check: { config: liveConfig, rejectedConfig: () => ({ ...liveConfig(), apiToken: 'revoked-token' }) },
  syncScenario: {
    config: liveConfig,
    expectedExternalIds: makeTickets(7).flatMap((ticket) => [
      `ticket:${ticket.id}`,
      ...ticket.replies.map((reply) => `reply:${reply.id}`),
      ...(ticket.satisfaction_rating ? [`rating:${ticket.id}:${ticket.satisfaction_rating.rated_at}`] : []),
    ]),
  },
});

describe('helpdesk sync against the fake API', () => {
  const config = () => helpdesk.config.parse(liveConfig());

  test('maps a ticket to ticket_opened, agent replies to OUTBOUND ticket_replied and a good rating to sentiment 1', async () => {
    const ctx = createTestContext<ReturnType<typeof config>, HelpdeskState>({ config: config(), egress });
    const result = await helpdesk.sync!(ctx, undefined);
    const first = result.batch!.interactions!.filter((i) => i.properties?.['ticketId'] === 't1');
    expect(first.map((i) => [i.type, i.direction])).toEqual([
      ['ticket_opened', 'INBOUND'],
      ['ticket_replied', 'OUTBOUND'],
      ['satisfaction_rated', 'INBOUND'],
    ]);
    expect(first[2]!.sentiment).toBe(1);
    expect(result.batch!.customers!.map((c) => c.identifiers[0]!.value)).toEqual(['customer0@example.com', 'customer1@example.com', 'customer2@example.com']);
    expect(result).toMatchObject({ hasMore: true, nextState: { cursor: expect.any(String) } });
  });

  test('waits out a 429 with a short Retry-After and retries a 503', async () => {
    api.failNext({ status: 429, retryAfter: '2' }, { status: 503 });
    const ctx = createTestContext<ReturnType<typeof config>, HelpdeskState>({ config: config(), http: helpdesk.http, egress });
    const result = await helpdesk.sync!(ctx, undefined);
    expect(result.batch!.interactions!.length).toBeGreaterThan(0);
    expect(ctx.clock.sleeps[0]).toBe(2_000);
  });

  test('a Retry-After beyond the budget ends the run with RateLimitedError', async () => {
    api.failNext({ status: 429, retryAfter: '3600' });
    const ctx = createTestContext<ReturnType<typeof config>, HelpdeskState>({ config: config(), http: helpdesk.http, egress });
    await expect(helpdesk.sync!(ctx, undefined)).rejects.toBeInstanceOf(RateLimitedError);
  });

  test('picks up only tickets updated after the saved window', async () => {
    const state: HelpdeskState = { updatedSince: makeTickets(7)[5]!.updated_at, cursor: null, windowMax: null };
    const ctx = createTestContext<ReturnType<typeof config>, HelpdeskState>({ config: config(), state, egress });
    const result = await helpdesk.sync!(ctx, ctx.state);
    expect(result.batch!.interactions!.map((i) => i.externalId)).toEqual(['ticket:t7', 'reply:t7-r1']);
    expect(result.nextState).toEqual({ updatedSince: makeTickets(7)[6]!.updated_at, cursor: null, windowMax: null });
  });
});
