import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A ticket as the fake help-desk API serves it. */
export interface FakeTicket {
  id: string;
  subject: string;
  status: string;
  priority?: string | null;
  requester: { id: string; email: string; name?: string | null };
  created_at: string;
  updated_at: string;
  replies: { id: string; author: { id: string; email: string }; created_at: string; public: boolean }[];
  satisfaction_rating?: { score: 'good' | 'bad'; comment?: string | null; rated_at: string } | null;
}

/** A response the fake API sends instead of the next real one. */
export interface InjectedFailure {
  status: number;
  retryAfter?: string;
}

/** A local HTTP server that behaves like a help-desk REST API: bearer token, cursor pages, `updated_since`, injected 429/5xx. */
export interface FakeHelpdeskApi {
  url: string;
  token: string;
  tickets: FakeTicket[];
  /** Requests to /api/v2/tickets so far. */
  ticketRequests: number;
  /** Requests to /api/v2/me (the connector's check) so far, with a valid token or not. */
  checkRequests: number;
  /** The next requests get these responses, in order. */
  failNext(...failures: InjectedFailure[]): void;
  /** The `n`th request to /api/v2/tickets from now (1: the next one) gets this response. */
  failOnRequest(n: number, failure: InjectedFailure): void;
  close(): Promise<void>;
}

/** Builds `count` tickets for requesters customer0…customer2@example.com, one hour apart from `start`. */
export function makeTickets(count: number, start = Date.parse('2024-05-01T00:00:00Z'), prefix = 't'): FakeTicket[] {
  return Array.from({ length: count }, (_, i) => {
    const created = new Date(start + i * 3_600_000).toISOString();
    const requester = { id: `u${i % 3}`, email: `customer${i % 3}@example.com`, name: `Customer ${i % 3}` };
    return {
      id: `${prefix}${i + 1}`,
      subject: `Question ${i + 1}`,
      status: i % 2 === 0 ? 'solved' : 'open',
      priority: 'normal',
      requester,
      created_at: created,
      updated_at: new Date(start + i * 3_600_000 + 600_000).toISOString(),
      replies:
        i % 2 === 0
          ? [
              {
                id: `${prefix}${i + 1}-r1`,
                author: { id: 'agent1', email: 'agent@helpdesk.example' },
                created_at: new Date(start + i * 3_600_000 + 300_000).toISOString(),
                public: true,
              },
            ]
          : [],
      satisfaction_rating: i % 4 === 0 ? { score: 'good', rated_at: new Date(start + i * 3_600_000 + 600_000).toISOString() } : null,
    };
  });
}

export async function startFakeHelpdeskApi(options: { tickets?: FakeTicket[]; token?: string } = {}): Promise<FakeHelpdeskApi> {
  const token = options.token ?? 'test-token-123';
  const failures: InjectedFailure[] = [];
  const scheduled = new Map<number, InjectedFailure>();
  const api = { tickets: options.tickets ?? makeTickets(5), ticketRequests: 0, checkRequests: 0 };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    if (url.pathname === '/api/v2/me') api.checkRequests++;
    if (request.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'invalid token' });
    if (url.pathname === '/api/v2/me') return send(200, { account: 'demo' });
    if (url.pathname !== '/api/v2/tickets') return send(404, { error: 'not found' });
    api.ticketRequests++;
    const failure = scheduled.get(api.ticketRequests) ?? failures.shift();
    scheduled.delete(api.ticketRequests);
    if (failure) return send(failure.status, { error: 'injected' }, failure.retryAfter ? { 'retry-after': failure.retryAfter } : {});
    const since = url.searchParams.get('updated_since');
    const limit = Number(url.searchParams.get('limit') ?? '100');
    const cursor = url.searchParams.get('cursor');
    // Exclusive lower bound, ordered by (updated_at, id): a cursor is the last key of the previous page.
    const ordered = api.tickets
      .filter((t) => since === null || Date.parse(t.updated_at) > Date.parse(since))
      .sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at) || a.id.localeCompare(b.id));
    const after = cursor ? (JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [string, string]) : null;
    const rest = after ? ordered.filter((t) => Date.parse(t.updated_at) > Date.parse(after[0]) || (t.updated_at === after[0] && t.id > after[1])) : ordered;
    const page = rest.slice(0, limit);
    const last = page[page.length - 1];
    const next = rest.length > limit && last ? Buffer.from(JSON.stringify([last.updated_at, last.id])).toString('base64url') : null;
    send(200, { tickets: page, next_cursor: next });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(api, {
    url,
    token,
    failNext: (...list: InjectedFailure[]) => void failures.push(...list),
    failOnRequest: (n: number, failure: InjectedFailure) => void scheduled.set(api.ticketRequests + n, failure),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
