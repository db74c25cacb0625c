import type { IncomingMessage, ServerResponse } from 'node:http';

/** Methods a page of an allowed origin may use (preflight answer). */
const ALLOWED_METHODS = 'GET, POST, OPTIONS';
/** Request headers a page of an allowed origin may send: credentials travel as a bearer token, never as cookies. */
const ALLOWED_HEADERS = 'authorization, content-type, accept';
/** How long a browser may cache a preflight answer, in seconds. */
const PREFLIGHT_MAX_AGE = '600';

/**
 * Cross-origin access to the gateway, the same for every route (GraphQL, the
 * GraphiQL page, preflights, webhooks, imports, health): off unless the
 * request's `Origin` is one of `RAPPORT_CORS_ORIGINS`, compared exactly. An
 * allowed origin gets `Access-Control-Allow-Origin: <that origin>` and never
 * `Access-Control-Allow-Credentials`: Rapport authenticates with bearer tokens,
 * so a page must hold a credential itself and the browser's cookies or HTTP
 * authentication for Rapport are never sent on its behalf. Any other origin
 * (including `null`, the origin of sandboxed frames and files) gets no CORS
 * header at all, so the browser keeps the answer from the page.
 */
export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;

  constructor(origins: readonly string[]) {
    this.origins = new Set(origins);
  }

  /** Sets the CORS headers of `req`'s answer on `res` (before anything is written). */
  apply(req: IncomingMessage, res: ServerResponse): void {
    if (this.origins.size === 0) return;
    // Answers differ by Origin, so caches must key on it.
    res.setHeader('vary', 'Origin');
    const origin = req.headers.origin;
    if (origin === undefined || !this.origins.has(origin)) return;
    res.setHeader('access-control-allow-origin', origin);
  }

  /**
   * Answers a preflight (`OPTIONS`): 204, with the allowed methods and headers
   * when the origin is allowed. Preflights carry no credentials, so this runs
   * before authentication and reads no body.
   */
  preflight(req: IncomingMessage, res: ServerResponse): void {
    this.apply(req, res);
    if (res.hasHeader('access-control-allow-origin')) {
      res.setHeader('access-control-allow-methods', ALLOWED_METHODS);
      res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
      res.setHeader('access-control-max-age', PREFLIGHT_MAX_AGE);
    }
    res.setHeader('allow', ALLOWED_METHODS);
    res.writeHead(204, { 'content-length': '0' });
    res.end();
  }
}
