import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import type { EgressResolver } from './egress';
import {
  AuthenticationError,
  EgressDeniedError,
  HttpStatusError,
  HttpTimeoutError,
  MalformedPayloadError,
  RateLimitedError,
  RetryableError,
  TooManyRedirectsError,
} from './errors';
import { createHttpClient, parseRetryAfter, type FetchLike, type HttpClientOptions } from './http-client';
import { createFakeClock, type FakeClock } from './testing/fake-clock';

interface TestServer {
  url: string;
  hits(): number;
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

type Handler = (request: IncomingMessage, response: ServerResponse, hit: number) => void;

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startServer(handler: Handler): Promise<TestServer> {
  let hits = 0;
  const requests: TestServer['requests'] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      hits++;
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      handler(request, response, hits);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handle: TestServer = {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(handle);
  return handle;
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** The test servers listen on loopback, which the client refuses unless allowlisted. */
const LOOPBACK: HttpClientOptions['egress'] = { allowedHosts: ['127.0.0.1'] };

function clientFor(server: TestServer, clock: FakeClock, options: Partial<HttpClientOptions> = {}) {
  return createHttpClient({ baseUrl: server.url, now: clock.nowMs, sleep: clock.sleep, random: () => 0.5, egress: LOOPBACK, ...options });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (error: unknown) => error,
  );
}

describe('createHttpClient', () => {
  test('times out a request that gets no response and throws HttpTimeoutError once retries are spent', async () => {
    const server = await startServer(() => {
      // Never answer.
    });
    const clock = createFakeClock();
    const http = clientFor(server, clock, { timeoutMs: 50, retry: { maxRetries: 1, baseDelayMs: 10 } });
    const error = await rejectionOf(http.getJson('/slow'));
    expect(error).toBeInstanceOf(HttpTimeoutError);
    expect(error).toMatchObject({ code: 'CONNECTOR_HTTP_TIMEOUT', timeoutMs: 50, retryable: true });
    // One retry, after a jittered backoff; how many attempts reached the server depends on the machine's speed.
    expect(clock.sleeps).toEqual([8]);
  });

  test('retries a 503 after the Retry-After seconds the server asked for', async () => {
    const server = await startServer((_request, response, hit) => {
      if (hit === 1) json(response, 503, { error: 'maintenance' }, { 'retry-after': '7' });
      else json(response, 200, { ok: true });
    });
    const clock = createFakeClock();
    const startedAt = clock.nowMs();
    const http = clientFor(server, clock);
    await expect(http.getJson('/tickets')).resolves.toEqual({ ok: true });
    expect(server.hits()).toBe(2);
    expect(clock.sleeps).toEqual([7_000]);
    expect(clock.nowMs() - startedAt).toBe(7_000);
  });

  test('retries a 503 whose Retry-After is an HTTP date', async () => {
    const clock = createFakeClock('2024-05-01T12:00:00Z');
    const server = await startServer((_request, response, hit) => {
      if (hit === 1) json(response, 503, {}, { 'retry-after': new Date(clock.nowMs() + 5_000).toUTCString() });
      else json(response, 200, { ok: true });
    });
    const http = clientFor(server, clock);
    await expect(http.getJson('/tickets')).resolves.toEqual({ ok: true });
    expect(clock.sleeps).toEqual([5_000]);
  });

  test('retries 5xx with exponential backoff and jitter when there is no Retry-After', async () => {
    const server = await startServer((_request, response, hit) => {
      if (hit < 3) json(response, 500, { error: 'boom' });
      else json(response, 200, { ok: true });
    });
    const clock = createFakeClock();
    const http = clientFor(server, clock, { retry: { baseDelayMs: 100 } });
    await expect(http.getJson('/tickets')).resolves.toEqual({ ok: true });
    // random() = 0.5: half of each ceiling is fixed, a quarter comes from the jitter.
    expect(clock.sleeps).toEqual([75, 150]);
  });

  test('throws RetryableError with the status once retries on 5xx are spent', async () => {
    const server = await startServer((_request, response) => json(response, 502, {}));
    const clock = createFakeClock();
    const error = await rejectionOf(clientFor(server, clock, { retry: { maxRetries: 2 } }).getJson('/tickets'));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).not.toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: 'CONNECTOR_RETRYABLE', status: 502 });
    expect(server.hits()).toBe(3);
  });

  test('does not resend a POST after a 500, but does after a 429', async () => {
    const failing = await startServer((_request, response) => json(response, 500, {}));
    const clock = createFakeClock();
    await expect(clientFor(failing, clock).postJson('/events', { a: 1 })).rejects.toMatchObject({ status: 500 });
    expect(failing.hits()).toBe(1);

    const limited = await startServer((_request, response, hit) => {
      if (hit === 1) json(response, 429, {}, { 'retry-after': '1' });
      else json(response, 201, { id: 'e1' });
    });
    await expect(clientFor(limited, clock).postJson('/events', { a: 1 })).resolves.toEqual({ id: 'e1' });
    expect(limited.requests.map((request) => request.body)).toEqual(['{"a":1}', '{"a":1}']);
    expect(limited.requests[0]!.headers['content-type']).toBe('application/json');
  });

  test('throws RateLimitedError carrying Retry-After when 429s outlast the retries', async () => {
    const server = await startServer((_request, response) => json(response, 429, { error: 'slow down' }, { 'retry-after': '2' }));
    const clock = createFakeClock();
    const error = await rejectionOf(clientFor(server, clock, { retry: { maxRetries: 2 } }).getJson('/tickets'));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: 'CONNECTOR_RATE_LIMITED', retryAfterMs: 2_000, status: 429, retryable: true });
    expect(server.hits()).toBe(3);
    expect(clock.sleeps).toEqual([2_000, 2_000]);
  });

  test('gives up at once with RateLimitedError when Retry-After exceeds maxRetryAfterMs', async () => {
    const server = await startServer((_request, response) => json(response, 429, {}, { 'retry-after': '3600' }));
    const clock = createFakeClock();
    const http = clientFor(server, clock, { retry: { maxRetryAfterMs: 60_000 } });
    const error = await rejectionOf(http.getJson('/tickets'));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ retryAfterMs: 3_600_000 });
    expect(server.hits()).toBe(1);
    expect(clock.sleeps).toEqual([]);

    // The pause holds for the whole client: the next request does not reach the server either.
    await expect(http.getJson('/other')).rejects.toMatchObject({ code: 'CONNECTOR_RATE_LIMITED', retryAfterMs: 3_600_000 });
    expect(server.hits()).toBe(1);
  });

  test('spaces requests to stay inside the rate-limit budget, on the injected clock', async () => {
    const server = await startServer((_request, response) => json(response, 200, { ok: true }));
    const clock = createFakeClock();
    const startedAt = clock.nowMs();
    const http = clientFor(server, clock, { rateLimit: { requests: 2, intervalMs: 1_000 } });
    for (let i = 0; i < 4; i++) await http.getJson('/tickets');
    // Two requests burst; each further one waits for a token (2 per second: one per 500 ms).
    expect(clock.sleeps).toEqual([500, 500]);
    expect(clock.nowMs() - startedAt).toBe(1_000);
    expect(server.hits()).toBe(4);
  });

  test('throws RateLimitedError instead of waiting longer than maxWaitMs for the budget', async () => {
    const server = await startServer((_request, response) => json(response, 200, { ok: true }));
    const clock = createFakeClock();
    const http = clientFor(server, clock, { rateLimit: { requests: 1, intervalMs: 60_000, maxWaitMs: 1_000 } });
    await http.getJson('/tickets');
    const error = await rejectionOf(http.getJson('/tickets'));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ retryAfterMs: 60_000 });
    expect(server.hits()).toBe(1);

    clock.advance(60_000);
    await expect(http.getJson('/tickets')).resolves.toEqual({ ok: true });
    expect(server.hits()).toBe(2);
  });

  test('makes clients derived with withDefaults share the budget and Retry-After pauses', async () => {
    const server = await startServer((request, response, hit) => {
      if (hit === 1) json(response, 503, {}, { 'retry-after': '3' });
      else json(response, 200, { path: request.url, auth: request.headers.authorization ?? null });
    });
    const clock = createFakeClock();
    const http = clientFor(server, clock, { rateLimit: { requests: 10, intervalMs: 1_000 }, retry: { maxRetries: 0 } });
    const api = http.withDefaults({ baseUrl: `${server.url}/api/`, headers: { Authorization: 'Bearer t' } });
    await expect(http.getJson('/first')).rejects.toBeInstanceOf(RateLimitedError);
    await expect(api.getJson('/tickets', { query: { cursor: 'abc', limit: 2, skip: undefined } })).resolves.toEqual({
      path: '/api/tickets?cursor=abc&limit=2',
      auth: 'Bearer t',
    });
    expect(clock.sleeps).toEqual([3_000]);
  });

  test('retries an idempotent request after the connection drops', async () => {
    const server = await startServer((request, response, hit) => {
      if (hit === 1) request.socket.destroy();
      else json(response, 200, { ok: true });
    });
    const clock = createFakeClock();
    await expect(clientFor(server, clock).getJson('/tickets')).resolves.toEqual({ ok: true });
    expect(server.hits()).toBe(2);
  });

  test('maps 401 and 403 to AuthenticationError and other failures to HttpStatusError', async () => {
    const server = await startServer((request, response) => {
      if (request.url === '/me') json(response, 401, { error: 'bad key' });
      else if (request.url === '/admin') json(response, 403, {});
      else json(response, 404, { error: 'no such ticket' });
    });
    const http = clientFor(server, createFakeClock());
    await expect(http.getJson('/me')).rejects.toBeInstanceOf(AuthenticationError);
    await expect(http.getJson('/admin')).rejects.toBeInstanceOf(AuthenticationError);
    const error = await rejectionOf(http.getJson('/tickets/9'));
    expect(error).toBeInstanceOf(HttpStatusError);
    expect(error).toMatchObject({ code: 'CONNECTOR_HTTP_STATUS', status: 404, bodySnippet: '{"error":"no such ticket"}' });
    expect(server.hits()).toBe(3);
  });

  test('rejects a body that is not JSON, or not the shape the schema expects, with MalformedPayloadError', async () => {
    const server = await startServer((request, response) => {
      if (request.url === '/html') {
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end('<html>maintenance</html>');
      } else json(response, 200, { tickets: [{ id: 1 }, { id: 'two' }], next: null });
    });
    const http = clientFor(server, createFakeClock());
    await expect(http.getJson('/html')).rejects.toBeInstanceOf(MalformedPayloadError);

    const page = z.object({ tickets: z.array(z.object({ id: z.number() })), next: z.string().nullable() });
    const error = await rejectionOf(http.getJson('/tickets', { schema: page }));
    expect(error).toBeInstanceOf(MalformedPayloadError);
    expect(error).toMatchObject({ path: 'tickets[1].id' });

    const valid = z.object({ next: z.null() });
    const parsed: { next: null } = await http.getJson('/tickets', { schema: valid });
    expect(parsed).toEqual({ next: null });
  });

  test('keeps query strings out of error messages', async () => {
    const server = await startServer((_request, response) => json(response, 404, {}));
    const error = await rejectionOf(clientFor(server, createFakeClock()).getJson('/tickets', { query: { api_key: 'sk_live_secret' } }));
    expect((error as Error).message).not.toContain('sk_live_secret');
  });

  test('stops at once when the run is aborted', async () => {
    const server = await startServer((_request, response) => json(response, 503, {}, { 'retry-after': '1' }));
    const clock = createFakeClock();
    const controller = new AbortController();
    const http = clientFor(server, clock, {
      signal: controller.signal,
      sleep: async (ms, signal) => {
        controller.abort(new Error('run cancelled'));
        await clock.sleep(ms, signal);
      },
    });
    await expect(http.getJson('/tickets')).rejects.toThrow('run cancelled');
    expect(server.hits()).toBe(1);
  });
});

describe('parseRetryAfter', () => {
  test('reads delay-seconds and HTTP dates, and ignores garbage', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 01 May 2024 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('the egress guard', () => {
  const clock = createFakeClock();
  /** A client with the production policy (nothing allowlisted), quick to give up. */
  const guarded = (options: Partial<HttpClientOptions> = {}) =>
    createHttpClient({ now: clock.nowMs, sleep: clock.sleep, timeoutMs: 2_000, retry: { maxRetries: 0 }, ...options });
  const resolver = (table: Record<string, string[]>) => {
    const calls: string[] = [];
    const resolve: EgressResolver = async (hostname) => {
      calls.push(hostname);
      return (table[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    return { resolve, calls };
  };

  test('refuses loopback, private, link-local, metadata and other special addresses written as IP literals, before connecting', async () => {
    const server = await startServer((_request, response) => json(response, 200, { secret: 'internal' }));
    const port = new URL(server.url).port;
    const http = guarded();
    const targets = [
      `http://127.0.0.1:${port}/readyz`,
      `http://2130706433:${port}/readyz`,
      `http://0x7f.1:${port}/readyz`,
      `http://[::1]:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://[::ffff:7f00:1]:${port}/`,
      `http://0.0.0.0:${port}/`,
      'http://10.0.0.1/',
      'http://172.16.5.4/',
      'http://192.168.1.1/',
      'http://100.64.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://[fe80::1]/',
      'http://[fd12:3456::1]/',
      'http://[64:ff9b::a00:1]/',
      'http://[2002:7f00:1::]/',
      'http://224.0.0.1/',
      'http://255.255.255.255/',
    ];
    for (const target of targets) {
      const error = await rejectionOf(http.request(target));
      expect([target, error]).toEqual([target, expect.any(EgressDeniedError)]);
      expect(error).toMatchObject({ code: 'CONNECTOR_EGRESS_DENIED', retryable: false });
    }
    expect(server.hits()).toBe(0);
  });

  test('refuses a host name that resolves to a refused address, checking every address it has', async () => {
    const { resolve } = resolver({
      'api.acme.test': ['127.0.0.1'],
      'intranet.acme.test': ['10.1.2.3'],
      'meta.acme.test': ['169.254.169.254'],
      'mapped.acme.test': ['::ffff:192.168.0.10'],
      'mixed.acme.test': ['93.184.216.34', '127.0.0.1'],
    });
    const http = guarded({ resolve });
    for (const host of ['api.acme.test', 'intranet.acme.test', 'meta.acme.test', 'mapped.acme.test', 'mixed.acme.test']) {
      await expect(http.request(`http://${host}/`)).rejects.toMatchObject({ code: 'CONNECTOR_EGRESS_DENIED' });
    }
    // The system resolver: localhost is loopback without any DNS server.
    await expect(guarded().request('http://localhost:1/')).rejects.toMatchObject({ code: 'CONNECTOR_EGRESS_DENIED' });
    // Metadata host names are refused before they are resolved.
    const lookups = resolver({});
    await expect(guarded({ resolve: lookups.resolve }).request('http://metadata.google.internal/computeMetadata/v1/')).rejects.toBeInstanceOf(
      EgressDeniedError,
    );
    expect(lookups.calls).toEqual([]);
  });

  test('connects to the address it checked, resolving the name once per request (no second lookup to rebind)', async () => {
    const server = await startServer((request, response) => json(response, 200, { host: request.headers.host }));
    const port = new URL(server.url).port;
    const { resolve, calls } = resolver({ 'api.acme.test': ['127.0.0.1'] });
    const http = guarded({ resolve, egress: { allowedHosts: [`127.0.0.1:${port}`] } });
    await expect(http.getJson(`http://api.acme.test:${port}/me`)).resolves.toEqual({ host: `api.acme.test:${port}` });
    expect(calls).toEqual(['api.acme.test']);
  });

  test('allowlist entries open exactly what they name: host:port, CIDR ranges, host names', async () => {
    const open = await startServer((_request, response) => json(response, 200, { ok: true }));
    const other = await startServer((_request, response) => json(response, 200, { ok: true }));
    const openPort = new URL(open.url).port;
    const byPort = guarded({ egress: { allowedHosts: [`127.0.0.1:${openPort}`] } });
    await expect(byPort.getJson(`${open.url}/x`)).resolves.toEqual({ ok: true });
    await expect(byPort.getJson(`${other.url}/x`)).rejects.toBeInstanceOf(EgressDeniedError);

    await expect(guarded({ egress: { allowedHosts: ['127.0.0.0/8'] } }).getJson(`${other.url}/x`)).resolves.toEqual({ ok: true });
    await expect(guarded({ egress: { allowedHosts: ['10.0.0.0/8'] } }).getJson(`${other.url}/x`)).rejects.toBeInstanceOf(EgressDeniedError);

    const { resolve } = resolver({ 'csv.corp.test': ['127.0.0.1'] });
    await expect(
      guarded({ resolve, egress: { allowedHosts: ['csv.corp.test'] } }).getJson(`http://csv.corp.test:${new URL(other.url).port}/x`),
    ).resolves.toEqual({ ok: true });
    expect(other.hits()).toBe(2);
  });

  test('checks every redirect: a redirect to a loopback port that is not allowlisted is refused and its body never read', async () => {
    const internal = await startServer((_request, response) => json(response, 200, { status: 'ready', secret: 'internal-readyz-body' }));
    const internalPort = new URL(internal.url).port;
    const front = await startServer((request, response) => {
      const to = request.url === '/by-name' ? `http://localhost:${internalPort}/readyz` : `${internal.url}/readyz`;
      response.writeHead(302, { location: to }).end();
    });
    const http = guarded({ egress: { allowedHosts: [`127.0.0.1:${new URL(front.url).port}`] } });
    for (const path of ['/export.csv', '/by-name']) {
      const error = await rejectionOf(http.request(`${front.url}${path}`));
      expect(error).toBeInstanceOf(EgressDeniedError);
      expect((error as Error).message).not.toContain('internal-readyz-body');
    }
    expect(front.hits()).toBe(2);
    expect(internal.hits()).toBe(0);
  });

  test('caps redirects (default 5), and follows them within the cap', async () => {
    const server = await startServer((request, response) => {
      const hop = Number(request.url!.split('/')[2]);
      if (request.url!.startsWith('/loop/')) response.writeHead(302, { location: `/loop/${hop + 1}` }).end();
      else if (hop < 2) response.writeHead(307, { location: `/chain/${hop + 1}` }).end();
      else json(response, 200, { hop });
    });
    const egress = LOOPBACK;
    await expect(guarded({ egress }).getJson(`${server.url}/chain/0`)).resolves.toEqual({ hop: 2 });
    expect(server.hits()).toBe(3);

    const error = await rejectionOf(guarded({ egress }).getJson(`${server.url}/loop/0`));
    expect(error).toBeInstanceOf(TooManyRedirectsError);
    expect(error).toMatchObject({ code: 'CONNECTOR_TOO_MANY_REDIRECTS', maxRedirects: 5 });
    expect(server.hits()).toBe(3 + 6);

    await expect(guarded({ egress, maxRedirects: 1 }).getJson(`${server.url}/loop/0`)).rejects.toMatchObject({ maxRedirects: 1 });
    expect(server.hits()).toBe(3 + 6 + 2);
  });

  test('drops credentials on a redirect to another origin, keeps them on the same origin, and turns a 303 after a POST into a GET', async () => {
    const elsewhere = await startServer((request, response) => json(response, 200, { auth: request.headers.authorization ?? null, method: request.method }));
    const origin = await startServer((request, response) => {
      if (request.url === '/away') response.writeHead(302, { location: `${elsewhere.url}/landing` }).end();
      else if (request.url === '/here') response.writeHead(302, { location: '/landing' }).end();
      else if (request.url === '/submit') response.writeHead(303, { location: '/landing' }).end();
      else json(response, 200, { auth: request.headers.authorization ?? null, method: request.method });
    });
    const http = guarded({ egress: LOOPBACK, headers: { authorization: 'Bearer stored-token' } });
    await expect(http.getJson(`${origin.url}/away`)).resolves.toEqual({ auth: null, method: 'GET' });
    await expect(http.getJson(`${origin.url}/here`)).resolves.toEqual({ auth: 'Bearer stored-token', method: 'GET' });
    await expect(http.postJson(`${origin.url}/submit`, { a: 1 })).resolves.toEqual({ auth: 'Bearer stored-token', method: 'GET' });
  });

  test('with an injected fetch, the client still follows redirects itself and caps them', async () => {
    const seen: Array<{ url: string; redirect: RequestRedirect | undefined }> = [];
    const fakeFetch: FetchLike = async (url, init) => {
      seen.push({ url, redirect: init.redirect });
      const hop = Number(new URL(url).searchParams.get('hop') ?? 0);
      if (url.includes('/loop')) return new Response(null, { status: 302, headers: { location: `/loop?hop=${hop + 1}` } });
      if (hop === 0) return new Response(null, { status: 301, headers: { location: 'https://api.acme.test/final?hop=1' } });
      return new Response(JSON.stringify({ hop }), { status: 200 });
    };
    await expect(guarded({ fetch: fakeFetch }).getJson('https://api.acme.test/start')).resolves.toEqual({ hop: 1 });
    expect(seen).toEqual([
      { url: 'https://api.acme.test/start', redirect: 'manual' },
      { url: 'https://api.acme.test/final?hop=1', redirect: 'manual' },
    ]);
    await expect(guarded({ fetch: fakeFetch, maxRedirects: 2 }).getJson('https://api.acme.test/loop')).rejects.toBeInstanceOf(TooManyRedirectsError);
    expect(seen).toHaveLength(2 + 3);
  });

  test('decodes compressed bodies, as fetch does', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(gzipSync(JSON.stringify({ rows: [1, 2, 3] })));
    });
    await expect(guarded({ egress: LOOPBACK }).getJson(`${server.url}/data`)).resolves.toEqual({ rows: [1, 2, 3] });
  });
});
