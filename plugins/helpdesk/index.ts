import { z } from 'zod';
import { AuthenticationError, defineConnector, endpoint, secret, type CustomerRecord, type InteractionRecord } from '@rapport/connector-kit';

const personSchema = z.object({ id: z.string(), email: z.string(), name: z.string().nullable().optional() });
const ticketSchema = z.object({
  id: z.string(),
  subject: z.string(),
  status: z.string(),
  priority: z.string().nullable().optional(),
  requester: personSchema,
  created_at: z.string(),
  updated_at: z.string(),
  replies: z.array(z.object({ id: z.string(), author: personSchema, created_at: z.string(), public: z.boolean().default(true) })).default([]),
  satisfaction_rating: z
    .object({ score: z.enum(['good', 'bad']), comment: z.string().nullable().optional(), rated_at: z.string() })
    .nullable()
    .optional(),
});
const ticketPageSchema = z.object({ tickets: z.array(ticketSchema), next_cursor: z.string().nullable() });
type Ticket = z.output<typeof ticketSchema>;

/**
 * Where the sync is: the window of tickets updated after `updatedSince`, the page
 * `cursor` inside it, and the newest `updated_at` seen so far in the window.
 */
export type HelpdeskState = { updatedSince: string | null; cursor: string | null; windowMax: string | null };

const CHANNEL = 'support';

function requesterRef(ticket: Ticket) {
  return { identifiers: [{ type: 'email', value: ticket.requester.email }] };
}

/** One ticket becomes: ticket_opened, one ticket_replied per public reply, satisfaction_rated when rated. */
export function ticketInteractions(ticket: Ticket): InteractionRecord[] {
  const interactions: InteractionRecord[] = [
    {
      customer: requesterRef(ticket),
      channel: CHANNEL,
      type: 'ticket_opened',
      occurredAt: ticket.created_at,
      direction: 'INBOUND',
      properties: { ticketId: ticket.id, subject: ticket.subject, status: ticket.status, ...(ticket.priority ? { priority: ticket.priority } : {}) },
      externalId: `ticket:${ticket.id}`,
    },
  ];
  for (const reply of ticket.replies) {
    if (!reply.public) continue;
    const fromCustomer = reply.author.id === ticket.requester.id;
    interactions.push({
      customer: requesterRef(ticket),
      channel: CHANNEL,
      type: 'ticket_replied',
      occurredAt: reply.created_at,
      direction: fromCustomer ? 'INBOUND' : 'OUTBOUND',
      properties: { ticketId: ticket.id, author: fromCustomer ? 'customer' : 'agent' },
      externalId: `reply:${reply.id}`,
    });
  }
  if (ticket.satisfaction_rating) {
    interactions.push({
      customer: requesterRef(ticket),
      channel: CHANNEL,
      type: 'satisfaction_rated',
      occurredAt: ticket.satisfaction_rating.rated_at,
      direction: 'INBOUND',
      sentiment: ticket.satisfaction_rating.score === 'good' ? 1 : -1,
      properties: {
        ticketId: ticket.id,
        score: ticket.satisfaction_rating.score,
        ...(ticket.satisfaction_rating.comment ? { comment: ticket.satisfaction_rating.comment } : {}),
      },
      // One rating per ticket; a changed rating is a new event at its own time.
      externalId: `rating:${ticket.id}:${ticket.satisfaction_rating.rated_at}`,
    });
  }
  return interactions;
}

/**
 * Help desk (pull): tickets, public replies and satisfaction ratings from a
 * help-desk REST API (`GET /api/v2/tickets?updated_since=&cursor=&limit=`), with
 * cursor pagination and incremental updates by `updated_at`.
 */
export default defineConnector({
  id: 'helpdesk',
  apiVersion: 1,
  version: '1.0.0',
  displayName: 'Help desk',
  description: 'Tickets, replies and satisfaction ratings from a help-desk REST API, incrementally by updated_at with cursor pagination.',
  config: z.object({
    baseUrl: endpoint(z.url()).describe('API root, e.g. https://acme.helpdesk.example'),
    apiToken: secret(z.string().min(8)).describe('API token (Settings → API)'),
    pageSize: z.int().min(1).max(500).default(100).describe('Tickets per request'),
    startAt: z.iso.datetime({ offset: true }).optional().describe('Only tickets updated after this instant on the first run'),
  }),
  http: {
    timeoutMs: 30_000,
    rateLimit: { requests: 10, intervalMs: 1_000, maxWaitMs: 30_000 },
    retry: { maxRetries: 3, baseDelayMs: 500, maxRetryAfterMs: 60_000 },
  },

  check: async (ctx) => {
    const response = await ctx.http.request(new URL('/api/v2/me', ctx.config.baseUrl).href, {
      headers: { authorization: `Bearer ${ctx.config.apiToken}` },
      signal: ctx.signal,
    });
    if (response.status === 401 || response.status === 403) throw new AuthenticationError('the help desk refused the API token');
  },

  sync: async (ctx, state: Readonly<HelpdeskState> | undefined) => {
    const api = ctx.http.withDefaults({ baseUrl: ctx.config.baseUrl, headers: { authorization: `Bearer ${ctx.config.apiToken}` } });
    const updatedSince = state?.updatedSince ?? ctx.config.startAt ?? null;
    const page = await api.getJson('/api/v2/tickets', {
      schema: ticketPageSchema,
      query: { updated_since: updatedSince ?? undefined, cursor: state?.cursor ?? undefined, limit: ctx.config.pageSize },
      signal: ctx.signal,
    });
    const customers = new Map<string, CustomerRecord>();
    for (const ticket of page.tickets) {
      customers.set(ticket.requester.email.toLowerCase(), {
        identifiers: [
          { type: 'email', value: ticket.requester.email },
          { type: 'helpdesk', value: ticket.requester.id },
        ],
        ...(ticket.requester.name ? { displayName: ticket.requester.name } : {}),
      });
    }
    ctx.logger.info('fetched tickets', { count: page.tickets.length, more: page.next_cursor !== null });
    const windowMax = maxIso(state?.windowMax ?? null, ...page.tickets.map((ticket) => ticket.updated_at));
    // Inside a window, follow the cursor; once through, the next window starts after the newest update seen.
    const nextState: HelpdeskState =
      page.next_cursor !== null
        ? { updatedSince, cursor: page.next_cursor, windowMax }
        : { updatedSince: maxIso(updatedSince, windowMax), cursor: null, windowMax: null };
    return {
      batch: { customers: [...customers.values()], interactions: page.tickets.flatMap(ticketInteractions) },
      nextState,
      hasMore: page.next_cursor !== null,
    };
  },
});

function maxIso(...values: (string | null)[]): string | null {
  return values.reduce<string | null>((max, value) => (value !== null && (max === null || Date.parse(value) > Date.parse(max)) ? value : max), null);
}
