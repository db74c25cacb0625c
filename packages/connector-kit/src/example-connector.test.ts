import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { defineConnector, MalformedPayloadError, secret, verifyWebhookSignature, WEBHOOK_SIGNATURE_HEADER, type InteractionRecord } from './index';
import { createTestContext, createWebhookRequest, runConformanceSuite, tamperWebhookRequest } from './testing';

/**
 * A small but complete connector, written the way a partner would: a help desk whose
 * REST API pages tickets with a cursor, and whose webhooks push ticket events.
 */
const ticketSchema = z.object({ id: z.string(), requesterEmail: z.string(), subject: z.string(), createdAt: z.string() });
const ticketPageSchema = z.object({ tickets: z.array(ticketSchema), nextCursor: z.string().nullable() });
const ticketEventSchema = z.object({
  id: z.string(),
  type: z.enum(['ticket.created', 'ticket.replied']),
  occurredAt: z.string(),
  ticket: z.object({ id: z.string(), requesterEmail: z.string() }),
});

type HelpdeskState = { cursor: string | null };

const helpdesk = defineConnector({
  id: 'example-helpdesk',
  apiVersion: 1,
  version: '0.1.0',
  displayName: 'Example Helpdesk',
  description: 'Tickets from a help desk with a cursor-paged REST API and signed webhooks.',
  config: z.object({
    apiKey: secret(z.string().min(8)).describe('API key'),
    signingSecret: secret(z.string().min(8)).describe('Webhook signing secret'),
    baseUrl: z.url().describe('API base URL'),
    pageSize: z.int().min(1).max(100).default(2),
  }),
  http: { rateLimit: { requests: 5, intervalMs: 1_000 }, retry: { maxRetries: 2 } },

  check: async (ctx) => {
    await ctx.http.getJson(`${ctx.config.baseUrl}/me`, { headers: { authorization: `Bearer ${ctx.config.apiKey}` }, signal: ctx.signal });
  },

  sync: async (ctx, state: Readonly<HelpdeskState> | undefined) => {
    const api = ctx.http.withDefaults({ baseUrl: ctx.config.baseUrl, headers: { authorization: `Bearer ${ctx.config.apiKey}` } });
    const page = await api.getJson('/tickets', { schema: ticketPageSchema, query: { after: state?.cursor, limit: ctx.config.pageSize }, signal: ctx.signal });
    await ctx.emit({ customers: page.tickets.map((ticket) => ({ identifiers: [{ type: 'email', value: ticket.requesterEmail }] })) });
    const last = page.tickets[page.tickets.length - 1];
    ctx.logger.info('fetched tickets', { count: page.tickets.length });
    return {
      batch: {
        interactions: page.tickets.map((ticket): InteractionRecord => ({
          customer: { identifiers: [{ type: 'email', value: ticket.requesterEmail }] },
          channel: 'support',
          type: 'ticket_opened',
          occurredAt: ticket.createdAt,
          direction: 'INBOUND',
          properties: { subject: ticket.subject },
          externalId: `ticket:${ticket.id}`,
        })),
      },
      // Once caught up, keep the last ticket seen so the next run asks only for newer ones.
      nextState: { cursor: page.nextCursor ?? last?.id ?? state?.cursor ?? null },
      hasMore: page.nextCursor !== null,
    };
  },

  webhook: {
    verify: (request, config) =>
      verifyWebhookSignature({ secret: config.signingSecret, body: request.rawBody, header: request.headers[WEBHOOK_SIGNATURE_HEADER] }).ok,
    parse: (request) => {
      let json: unknown;
      try {
        json = JSON.parse(request.body);
      } catch (error) {
        throw new MalformedPayloadError('body is not JSON', { cause: error });
      }
      const event = ticketEventSchema.safeParse(json);
      if (!event.success) throw new MalformedPayloadError(event.error.issues[0]!.message, { path: event.error.issues[0]!.path.join('.') });
      return {
        interactions: [
          {
            customer: { identifiers: [{ type: 'email', value: event.data.ticket.requesterEmail }] },
            channel: 'support',
            type: event.data.type === 'ticket.created' ? 'ticket_opened' : 'ticket_replied',
            occurredAt: event.data.occurredAt,
            direction: 'INBOUND',
            externalId: `event:${event.data.id}`,
          },
        ],
      };
    },
  },
});

/** A fake help-desk API on 127.0.0.1: cursor paging, a bearer key, and one 429 with Retry-After. */
const TICKETS = ['t1', 't2', 't3', 't4', 't5'].map((id, index) => ({
  id,
  requesterEmail: `customer${index % 2}@example.com`,
  subject: `Ticket ${id}`,
  createdAt: `2024-04-0${index + 1}T09:00:00Z`,
}));
let server: Server;
let baseUrl = '';
let rateLimitedOnce = false;

beforeAll(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== 'Bearer test-api-key') return send(401, { error: 'invalid api key' });
    if (url.pathname === '/me') return send(200, { account: 'demo' });
    if (url.pathname !== '/tickets') return send(404, { error: 'not found' });
    if (!rateLimitedOnce) {
      rateLimitedOnce = true;
      return send(429, { error: 'slow down' }, { 'retry-after': '1' });
    }
    const after = url.searchParams.get('after');
    const limit = Number(url.searchParams.get('limit') ?? '2');
    const start = after === null ? 0 : TICKETS.findIndex((ticket) => ticket.id === after) + 1;
    const tickets = TICKETS.slice(start, start + limit);
    const more = start + limit < TICKETS.length;
    send(200, { tickets, nextCursor: more ? tickets[tickets.length - 1]!.id : null });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const staticConfig = { apiKey: 'test-api-key', signingSecret: 'whsec_test_secret', baseUrl: 'http://127.0.0.1:1' };
const liveConfig = () => ({ ...staticConfig, baseUrl });

function ticketEvent(id: string, type: 'ticket.created' | 'ticket.replied', ticketId: string) {
  return { id, type, occurredAt: '2024-05-01T10:00:00Z', ticket: { id: ticketId, requesterEmail: 'ada@example.com' } };
}

/** The fake API listens on loopback, which the HTTP client refuses unless allowlisted. */
const egress = { allowedHosts: ['127.0.0.1'] };

runConformanceSuite(helpdesk, {
  egress,
  validConfigs: [staticConfig, { ...staticConfig, pageSize: 50 }],
  invalidConfigs: [
    { config: { ...staticConfig, apiKey: 'short' }, field: 'apiKey' },
    { config: { ...staticConfig, baseUrl: 'not a url' }, field: 'baseUrl' },
    { config: { signingSecret: 'whsec_test_secret', baseUrl: 'http://127.0.0.1:1' }, field: 'apiKey' },
    { config: { ...staticConfig, pageSize: 0 } },
  ],
  secretFields: ['apiKey', 'signingSecret'],
  check: { config: liveConfig, rejectedConfig: () => ({ ...liveConfig(), apiKey: 'revoked-api-key' }) },
  webhookSamples: [
    {
      name: 'ticket created',
      request: () => createWebhookRequest({ body: ticketEvent('evt_1', 'ticket.created', 't9'), sign: { secret: 'whsec_test_secret' } }),
      expectedInteractions: [{ type: 'ticket_opened', externalId: 'event:evt_1' }],
    },
    {
      name: 'ticket replied',
      request: () => createWebhookRequest({ body: ticketEvent('evt_2', 'ticket.replied', 't9'), sign: { secret: 'whsec_test_secret' } }),
      expectedInteractions: 1,
    },
  ],
  webhookRejections: [
    { name: 'an unsigned request', request: createWebhookRequest({ body: ticketEvent('evt_3', 'ticket.created', 't9') }) },
    {
      name: 'a request signed with another secret',
      request: () => createWebhookRequest({ body: ticketEvent('evt_3', 'ticket.created', 't9'), sign: { secret: 'not-the-secret' } }),
    },
  ],
  syncScenario: {
    config: liveConfig,
    expectedExternalIds: TICKETS.map((ticket) => `ticket:${ticket.id}`),
  },
});

describe('createTestContext', () => {
  test('records emits and judges rows like the host: duplicates by externalId, invalid rows rejected with paths', async () => {
    const ctx = createTestContext({ config: { apiKey: 'k' } });
    const interaction = {
      customer: { identifiers: [{ type: 'email', value: 'ada@example.com' }] },
      channel: 'email',
      type: 'open',
      occurredAt: ctx.now(),
      externalId: 'e1',
    };
    await expect(ctx.emit({ interactions: [interaction] })).resolves.toEqual({ accepted: 1, duplicates: 0, rejected: 0, errors: [] });
    const second = await ctx.emit({ interactions: [interaction, { ...interaction, externalId: '' }] });
    expect(second).toMatchObject({ accepted: 0, duplicates: 1, rejected: 1 });
    expect(second.errors.map((error) => error.path)).toEqual(['interactions[1].externalId']);
    expect(ctx.emitted).toHaveLength(2);
    expect(ctx.emittedInteractions().map((record) => record.externalId)).toEqual(['e1', 'e1', '']);
  });

  test('freezes the state it hands the connector', () => {
    const ctx = createTestContext({ config: {}, state: { cursor: 'c1', seen: { ids: ['a'] } } });
    expect(Object.isFrozen(ctx.state)).toBe(true);
    expect(Object.isFrozen(ctx.state?.['seen'])).toBe(true);
  });

  test('moves now() only when the clock is advanced', () => {
    const ctx = createTestContext({ config: {}, now: '2024-05-01T00:00:00Z' });
    expect(ctx.now().toISOString()).toBe('2024-05-01T00:00:00.000Z');
    ctx.clock.advance(90_000);
    expect(ctx.now().toISOString()).toBe('2024-05-01T00:01:30.000Z');
  });

  test('aborts the signal, and emit refuses afterwards', async () => {
    const ctx = createTestContext({ config: {} });
    ctx.abort(new Error('time limit'));
    expect(ctx.signal.aborted).toBe(true);
    await expect(ctx.emit({})).rejects.toThrow('time limit');
  });

  test('reaches no host over the network unless the test allowlists it, loopback and public alike', async () => {
    const ctx = createTestContext({ config: {}, http: { retry: { maxRetries: 0 } } });
    await expect(ctx.http.getJson('https://93.184.216.34/tickets')).rejects.toMatchObject({ code: 'CONNECTOR_EGRESS_DENIED' });
    await expect(ctx.http.getJson(`${baseUrl}/me`)).rejects.toMatchObject({ code: 'CONNECTOR_EGRESS_DENIED' });
    const allowed = createTestContext({ config: {}, egress });
    await expect(allowed.http.getJson(`${baseUrl}/me`, { headers: { authorization: 'Bearer test-api-key' } })).resolves.toEqual({ account: 'demo' });
    await expect(allowed.http.getJson('https://93.184.216.34/tickets')).rejects.toMatchObject({ code: 'CONNECTOR_EGRESS_DENIED' });
  });

  test('runs a sync with the fake clock absorbing the API’s Retry-After', async () => {
    rateLimitedOnce = false;
    const ctx = createTestContext<z.output<typeof helpdesk.config>, HelpdeskState>({ config: helpdesk.config.parse(liveConfig()), egress });
    const result = await helpdesk.sync!(ctx, ctx.state);
    expect(result).toMatchObject({ nextState: { cursor: 't2' }, hasMore: true });
    expect(ctx.emittedCustomers()).toHaveLength(2);
    expect(ctx.clock.sleeps).toEqual([1_000]);
    expect(ctx.logger.at('info')).toEqual([{ level: 'info', message: 'fetched tickets', fields: { count: 2 } }]);
  });
});

describe('tamperWebhookRequest', () => {
  test('changes one character of the body and keeps the headers', () => {
    const request = createWebhookRequest({ body: { id: 'evt_1', amount: 100 }, sign: { secret: 's' } });
    const tampered = tamperWebhookRequest(request);
    expect(tampered.body).toBe('{"id":"evt_1","amount":101}');
    expect(tampered.rawBody.toString()).toBe(tampered.body);
    expect(tampered.headers).toEqual(request.headers);
  });
});
