import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { EgressDeniedError, EgressGuard, type EgressResolver, type ResolvedAddress } from '@rapport/connector-kit';

/** Bytes of a receiver's answer kept with the attempt. */
export const RESPONSE_BODY_LIMIT = 1024;
/** Redirects followed, each one checked by the egress guard like the first URL. */
export const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** What one attempt gave. `ok` is a 2xx answer (after redirects). */
export interface SendResult {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  /** The first {@link RESPONSE_BODY_LIMIT} bytes of the answer, as text. */
  responseBody: string | null;
  /** Why there is no 2xx answer: a network error, a timeout, a refused address, too many redirects. */
  error: string | null;
  /** The attempt was refused by the egress guard (the URL or a redirect points where webhooks may not go). */
  refused: boolean;
}

/**
 * Posts webhook messages over `node:http(s)` behind the connectors' egress
 * guard: the host is resolved and checked (loopback, private, link-local and
 * metadata addresses are refused unless allowlisted), the socket connects to
 * exactly the checked addresses (no second DNS answer can slip in), and every
 * redirect is checked the same way before it is followed (the same POST, the
 * same signed headers).
 */
export class WebhookSender {
  private readonly guard: EgressGuard;
  private readonly agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };

  constructor(
    allowedHosts: readonly string[],
    private readonly timeoutMs: number,
    resolver?: EgressResolver,
  ) {
    this.guard = new EgressGuard({ allowedHosts }, resolver);
  }

  /** Checks a URL as a delivery will (throws EgressDeniedError, or the resolver's error). */
  async check(url: URL): Promise<void> {
    await this.guard.check(url);
  }

  async send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const signal = AbortSignal.timeout(this.timeoutMs);
    const done = (partial: Omit<SendResult, 'latencyMs'>): SendResult => ({ ...partial, latencyMs: Math.round(performance.now() - started) });
    let target = new URL(url);
    try {
      for (let hop = 0; ; hop++) {
        const addresses = await this.guard.check(target);
        const response = await this.post(target, addresses, headers, body, signal);
        const location = response.message.headers.location;
        if (REDIRECTS.has(response.status) && location) {
          response.message.resume();
          if (hop >= MAX_REDIRECTS)
            return done({ ok: false, statusCode: response.status, responseBody: null, error: `more than ${MAX_REDIRECTS} redirects`, refused: false });
          target = new URL(location, target);
          continue;
        }
        const responseBody = await readStart(response.message, RESPONSE_BODY_LIMIT);
        const ok = response.status >= 200 && response.status < 300;
        return done({ ok, statusCode: response.status, responseBody, error: ok ? null : `the receiver answered ${response.status}`, refused: false });
      }
    } catch (error) {
      if (error instanceof EgressDeniedError) return done({ ok: false, statusCode: null, responseBody: null, error: error.message, refused: true });
      const timedOut = signal.aborted;
      const message = timedOut ? `no answer within ${this.timeoutMs} ms` : error instanceof Error ? error.message : String(error);
      return done({ ok: false, statusCode: null, responseBody: null, error: message.slice(0, 500), refused: false });
    }
  }

  /** Closes kept-alive sockets. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private post(url: URL, addresses: ResolvedAddress[], headers: Record<string, string>, body: string, signal: AbortSignal) {
    const secure = url.protocol === 'https:';
    return new Promise<{ status: number; message: IncomingMessage }>((resolve, reject) => {
      const request = (secure ? https : http).request(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Rapport-Webhooks/1',
          ...headers,
        },
        agent: secure ? this.agents.https : this.agents.http,
        lookup: pinnedLookup(addresses),
        signal,
      });
      request.once('response', (message) => resolve({ status: message.statusCode ?? 0, message }));
      request.once('error', reject);
      request.end(body);
    });
  }
}

/** Answers every lookup with the checked addresses, never asking DNS again. */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all)
      callback(
        null,
        addresses.map(({ address, family }) => ({ address, family })),
      );
    else callback(null, addresses[0].address, addresses[0].family);
  }) as LookupFunction;
}

/** Reads up to `limit` bytes of a body, then lets the rest go. */
async function readStart(message: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of message) {
    const buffer = chunk as Buffer;
    if (size < limit) chunks.push(buffer.subarray(0, limit - size));
    size += buffer.length;
    if (size >= limit) break;
  }
  message.resume();
  return Buffer.concat(chunks).toString('utf8').replaceAll('\u0000', '');
}
