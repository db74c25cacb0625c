import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors/catalog';

/** Why a route refuses a request before reading its body. */
export interface RouteRefusal {
  status: number;
  code: ErrorCode;
  message: string;
  headers?: Record<string, string>;
}

/** A non-GraphQL HTTP route (webhooks, tracking) mounted on the gateway. */
export interface HttpRoute {
  matches(method: string, path: string): boolean;
  maxBodyBytes?: number;
  /**
   * Decides from the request line and headers alone (credentials, method)
   * whether the body is read at all; a refusal is answered without reading it.
   * A route that authenticates by its body (webhook signatures) has none and
   * relies on `maxBodyBytes`.
   */
  admit?(req: IncomingMessage): Promise<RouteRefusal | undefined>;
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined, url: URL): Promise<void> | void;
}

/** True when the request announced a body that has not been read (to the end). */
function bodyUnread(req: IncomingMessage): boolean {
  if (req.readableEnded) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * An answer sent while the request's body is unread closes the connection
 * after it, so the body is not read (Node would otherwise read it to the end
 * to reuse the connection).
 */
export function closeIfBodyUnread(req: IncomingMessage, res: ServerResponse): void {
  if (bodyUnread(req)) res.setHeader('connection', 'close');
}

/** Answers `body` as JSON with `status`, closing the connection when the request's body is unread. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  closeIfBodyUnread(res.req, res);
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
