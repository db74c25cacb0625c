import { z } from 'zod';
import {
  AuthenticationError,
  MalformedPayloadError,
  WEBHOOK_SIGNATURE_HEADER,
  defineConnector,
  secret,
  verifyWebhookSignature,
  type InteractionRecord,
} from 'rapport/connector-kit';

/** One event as the source sends it (webhook) and lists it (API). */
const eventSchema = z.object({
  id: z.string(),
  type: z.string(),
  email: z.string(),
  occurred_at: z.string(),
});
const pageSchema = z.object({ events: z.array(eventSchema), next_cursor: z.string().nullable() });
type SourceEvent = z.output<typeof eventSchema>;

/** The cursor: where the next sync continues. Everything a run needs to resume is here. */
export type DemoWidgetState = { cursor: string | null };

function toInteraction(event: SourceEvent): InteractionRecord {
  return {
    customer: { identifiers: [{ type: 'email', value: event.email }] },
    channel: 'web',
    type: event.type.toLowerCase().replace(/[^a-z0-9_.:-]/g, '_'),
    occurredAt: event.occurred_at,
    // The source's own id: a redelivery or a re-run sync is stored once.
    externalId: event.id,
  };
}

export default defineConnector({
  id: 'demo-widget',
  apiVersion: 1,
  version: '0.1.0',
  displayName: 'Demo Widget',
  description: 'Events from Demo Widget: pushed by signed webhooks and pulled from its API.',
  config: z.object({
    baseUrl: z.url().describe('API root'),
    apiKey: secret(z.string().min(8)).describe('API key'),
    signingSecret: secret(z.string().min(8)).describe('Webhook signing secret'),
    pageSize: z.int().min(1).max(500).default(100),
  }),
  http: { timeoutMs: 30_000, rateLimit: { requests: 10, intervalMs: 1_000 }, retry: { maxRetries: 3 } },

  check: async (ctx) => {
    const response = await ctx.http.request(new URL('/me', ctx.config.baseUrl).href, { headers: { authorization: `Bearer ${ctx.config.apiKey}` }, signal: ctx.signal });
    if (response.status === 401 || response.status === 403) throw new AuthenticationError('Demo Widget refused the API key');
  },

  sync: async (ctx, state: Readonly<DemoWidgetState> | undefined) => {
    const api = ctx.http.withDefaults({ baseUrl: ctx.config.baseUrl, headers: { authorization: `Bearer ${ctx.config.apiKey}` } });
    const page = await api.getJson('/events', { schema: pageSchema, query: { after: state?.cursor ?? undefined, limit: ctx.config.pageSize }, signal: ctx.signal });
    const last = page.events[page.events.length - 1];
    return {
      batch: { interactions: page.events.map(toInteraction) },
      // Caught up: keep the last event seen, so the next run asks only for newer ones.
      nextState: { cursor: page.next_cursor ?? last?.id ?? state?.cursor ?? null },
      hasMore: page.next_cursor !== null,
    };
  },

  webhook: {
    verify: (request, config) =>
      verifyWebhookSignature({ secret: config.signingSecret, body: request.rawBody, header: request.headers[WEBHOOK_SIGNATURE_HEADER] }).ok,
    parse: (request) => {
      let json: unknown;
      try {
        json = JSON.parse(request.body);
      } catch {
        throw new MalformedPayloadError('the body is not JSON');
      }
      const event = eventSchema.safeParse(json);
      if (!event.success) {
        const issue = event.error.issues[0]!;
        throw new MalformedPayloadError(issue.message, { path: issue.path.join('.') });
      }
      return { interactions: [toInteraction(event.data)] };
    },
  },
});
