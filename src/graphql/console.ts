import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { ErrorCode } from '../errors/catalog';
import { closeIfBodyUnread, sendJson } from '../infra/http';

/**
 * The Insights console (packages/console), served by the gateway at /console:
 * the page built by Vite (dist/index.html) and its content-hashed files under
 * /console/assets/. The page is public and holds no credential: the user
 * pastes a key, which the page keeps in sessionStorage and sends to /graphql
 * as a bearer token. `npm start` builds the console when its build is missing
 * or stale (packages/console/scripts/ensure-built.mjs); a gateway without a
 * build answers /console with how to make one.
 */

/** The built console: packages/console/dist, found through the workspace package (source or build layout alike). */
function consoleDist(): string {
  try {
    return path.join(path.dirname(require.resolve('@rapport/console/package.json')), 'dist');
  } catch {
    return path.resolve(__dirname, '..', '..', 'packages', 'console', 'dist');
  }
}

/**
 * Scripts, styles, images and requests from this origin only; no inline or
 * evaluated script, no inline style sheet (Vite emits CSS as files; charts set
 * element styles through the DOM, which the policy allows).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Hashed files never change under their name: read once, kept. */
const assets = new Map<string, Buffer>();

function securityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CONSOLE_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}

function send(req: IncomingMessage, res: ServerResponse, body: Buffer, type: string, cacheControl: string): void {
  closeIfBodyUnread(req, res);
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': cacheControl });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Answers /console, /console/ and /console/assets/<file>, and returns true;
 * returns false for any other request. The page is revalidated on every load
 * (no-cache), so a new build takes effect at once; the files it names are
 * immutable under their content hash.
 */
export function serveConsole(req: IncomingMessage, res: ServerResponse, url: URL, dist = consoleDist()): boolean {
  const { pathname } = url;
  if (pathname !== '/console' && !pathname.startsWith('/console/')) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  securityHeaders(res);
  if (pathname === '/console' || pathname === '/console/' || pathname === '/console/index.html') {
    const page = path.join(dist, 'index.html');
    if (!existsSync(page)) {
      sendJson(res, 404, {
        code: ErrorCode.NOT_FOUND,
        message: 'the console is not built: run `npm run build --workspace @rapport/console` (npm start builds it)',
      });
      return true;
    }
    send(req, res, readFileSync(page), 'text/html; charset=utf-8', 'no-cache');
    return true;
  }
  const match = /^\/console\/assets\/([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.(js|css|svg|png|woff2|json|map))$/.exec(pathname);
  const name = match?.[1];
  const file = name ? path.join(dist, 'assets', name) : undefined;
  let body = name ? assets.get(`${dist}\0${name}`) : undefined;
  if (!body && file && existsSync(file)) {
    body = readFileSync(file);
    assets.set(`${dist}\0${name}`, body);
  }
  if (!body || !name) {
    sendJson(res, 404, { code: ErrorCode.NOT_FOUND, message: `no route ${pathname}` });
    return true;
  }
  send(req, res, body, TYPES[path.extname(name)] ?? 'application/octet-stream', 'public, max-age=31536000, immutable');
  return true;
}
