import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable, pipeline } from 'node:stream';
import zlib from 'node:zlib';
import type { EgressGuard, ResolvedAddress } from './egress';

/** One HTTP exchange, without redirects: the client follows them itself, checking each hop. */
export interface HopRequest {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

/** Sends one request to `url` and resolves with its response, redirects included. */
export type Transport = (url: URL, request: HopRequest) => Promise<Response>;

/** Statuses whose response has no body, whatever the headers say. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * The client's own transport over `node:http`/`node:https`: the guard checks the host
 * (resolving it when it is a name) and the socket connects to exactly the addresses it
 * checked, through a `lookup` that answers with them; TLS still verifies the certificate
 * against the host name. Bodies in gzip, deflate or brotli are decoded, as `fetch` does.
 * Each client has its own agents, so a kept-alive socket opened under one policy is never
 * reused under another.
 */
export function createGuardedTransport(guard: EgressGuard): Transport {
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  return async (url, request) => {
    const addresses = await guard.check(url);
    request.signal?.throwIfAborted();
    const secure = url.protocol === 'https:';
    const headers = withDefaultHeaders(request);
    const message = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = (secure ? https : http).request(url, {
        method: request.method,
        headers,
        agent: secure ? agents.https : agents.http,
        lookup: pinnedLookup(addresses),
        signal: request.signal,
      });
      outgoing.once('response', resolve);
      outgoing.once('error', reject);
      outgoing.end(request.body === undefined ? undefined : Buffer.from(request.body));
    });
    return toResponse(message, request.method);
  };
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

/** The headers `fetch` adds when the caller did not set them, and an exact length for bodies. */
function withDefaultHeaders(request: HopRequest): Record<string, string> {
  const headers: Record<string, string> = { accept: '*/*', 'accept-encoding': 'gzip, deflate, br', 'user-agent': 'rapport-connector-kit', ...request.headers };
  if (request.body !== undefined) {
    headers['content-length'] = String(typeof request.body === 'string' ? Buffer.byteLength(request.body) : request.body.byteLength);
    if (typeof request.body === 'string' && headers['content-type'] === undefined) headers['content-type'] = 'text/plain;charset=UTF-8';
  } else if (METHODS_WITH_BODY.has(request.method)) {
    headers['content-length'] = '0';
  }
  return headers;
}

function toResponse(message: IncomingMessage, method: string): Response {
  const status = message.statusCode ?? 0;
  if (status < 200 || status > 599) {
    message.destroy();
    throw new Error(`the server answered an invalid HTTP status ${status}`);
  }
  const headers = new Headers();
  for (let i = 0; i < message.rawHeaders.length; i += 2) {
    try {
      headers.append(message.rawHeaders[i], message.rawHeaders[i + 1]);
    } catch {
      // A header value fetch would reject is left out, as fetch would have refused the whole response.
    }
  }
  if (method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
    message.resume();
    return new Response(null, { status, statusText: message.statusMessage ?? '', headers });
  }
  const body = decoded(message);
  return new Response(Readable.toWeb(body) as unknown as ReadableStream<Uint8Array>, { status, statusText: message.statusMessage ?? '', headers });
}

function decoded(message: IncomingMessage): Readable {
  const encoding = String(message.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip(flush)
      : encoding === 'deflate'
        ? zlib.createInflate(flush)
        : encoding === 'br'
          ? zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH })
          : undefined;
  if (!decoder) return message;
  return pipeline(message, decoder, () => undefined);
}
