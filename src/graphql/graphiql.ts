import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as bundle from '@graphql-yoga/render-graphiql/graphiql';
import { ErrorCode } from '../errors/catalog';
import { closeIfBodyUnread, sendJson } from '../infra/http';

/**
 * GraphiQL served entirely by the gateway: its scripts, styles, editor
 * workers and icon come from yoga's bundled build (@graphql-yoga/render-graphiql)
 * under `/graphiql/<content hash>/`, never from a CDN. The page works on a
 * machine without internet access, and no third-party code runs on the page a
 * developer pastes a key into. The page is a small HTML document whose
 * Content-Security-Policy allows scripts, workers and requests from this
 * origin only, so nothing it loads can reach another host.
 */

interface Asset {
  body: Buffer;
  type: string;
}

/** The editor's web workers, by the label Monaco asks for (see boot.js). */
const WORKERS = { editorWorkerService: 'editor.worker.js', json: 'json.worker.js', graphql: 'graphql.worker.js' } as const;

/**
 * Sets up the editor's workers before the bundle loads, and renders once the
 * document is parsed. Options come from a JSON data block, so the page needs no
 * inline script.
 */
const BOOT_SCRIPT = `(function () {
  var base = document.currentScript.src.replace(/boot\\.js$/, '');
  var workers = ${JSON.stringify(WORKERS)};
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (_moduleId, label) { return base + workers[label]; },
  };
  document.addEventListener('DOMContentLoaded', function () {
    var options = JSON.parse(document.getElementById('graphiql-options').textContent);
    YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
  });
})();
`;

const JS = 'text/javascript; charset=utf-8';

/** The first query a newcomer sees: the one `npm start` prints as a curl command. */
const DEFAULT_QUERY = `# Paste the header \`npm start\` printed into the Headers tab below, then run this.
{
  customers(first: 3) {
    totalCount
    edges {
      node {
        displayName
      }
    }
  }
}
`;

function buildAssets(): { version: string; files: Map<string, Asset> } {
  const files = new Map<string, Asset>([
    ['boot.js', { body: Buffer.from(BOOT_SCRIPT), type: JS }],
    ['graphiql.js', { body: Buffer.from(bundle.js), type: JS }],
    ['graphiql.css', { body: Buffer.from(bundle.css), type: 'text/css; charset=utf-8' }],
    [WORKERS.editorWorkerService, { body: Buffer.from(bundle.editorWorkerService), type: JS }],
    [WORKERS.json, { body: Buffer.from(bundle.jsonWorker), type: JS }],
    [WORKERS.graphql, { body: Buffer.from(bundle.graphqlWorker), type: JS }],
    ['favicon.ico', { body: Buffer.from(bundle.favicon.replace(/^data:[^,]*;base64,/, ''), 'base64'), type: 'image/x-icon' }],
  ]);
  const hash = createHash('sha256');
  for (const [name, asset] of files) hash.update(name).update(asset.body);
  return { version: hash.digest('hex').slice(0, 16), files };
}

let assets: ReturnType<typeof buildAssets> | undefined;
/** Built on first use: the bundle is several megabytes, and most processes never serve it. */
function graphiqlAssets(): ReturnType<typeof buildAssets> {
  return (assets ??= buildAssets());
}

/**
 * The policy of the page and its assets: everything from this origin only.
 * Styles may be inline because the editor sets element styles at run time;
 * no inline or outside script can run.
 */
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function escapeForScriptBlock(json: string): string {
  return json.replace(/</g, '\\u003c');
}

function page(endpoint: string): string {
  const base = `/graphiql/${graphiqlAssets().version}/`;
  const options = escapeForScriptBlock(JSON.stringify({ endpoint, title: 'Rapport', defaultQuery: DEFAULT_QUERY }));
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Rapport GraphiQL</title>
    <link rel="icon" href="${base}favicon.ico" />
    <link rel="stylesheet" href="${base}graphiql.css" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
    <script type="application/json" id="graphiql-options">${options}</script>
    <script src="${base}boot.js"></script>
    <script src="${base}graphiql.js"></script>
  </body>
</html>
`;
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', GRAPHIQL_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}

/** True when the request is a browser asking for the GraphiQL page at `endpoint`. */
export function wantsGraphiQL(req: IncomingMessage, url: URL, endpoint: string): boolean {
  return (
    (req.method === 'GET' || req.method === 'HEAD') &&
    url.pathname === endpoint &&
    (req.headers.accept ?? '').includes('text/html') &&
    !url.searchParams.has('query')
  );
}

/**
 * Answers the GraphiQL page or one of its assets, and returns true; returns
 * false for any other request. Assets are immutable under their content hash;
 * an asset of another version is not found (a page cached from before an
 * upgrade reloads).
 */
export function serveGraphiQL(req: IncomingMessage, res: ServerResponse, url: URL, endpoint: string): boolean {
  if (wantsGraphiQL(req, url, endpoint)) {
    const html = Buffer.from(page(endpoint));
    closeIfBodyUnread(req, res);
    securityHeaders(res);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': html.length, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : html);
    return true;
  }
  const match = /^\/graphiql\/([0-9a-f]{16})\/([a-z.]+)$/.exec(url.pathname);
  if (!match || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const { version, files } = graphiqlAssets();
  const asset = match[1] === version ? files.get(match[2] ?? '') : undefined;
  securityHeaders(res);
  if (!asset) {
    sendJson(res, 404, { code: ErrorCode.NOT_FOUND, message: `no route ${url.pathname}` });
    return true;
  }
  closeIfBodyUnread(req, res);
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': asset.body.length,
    'cache-control': 'public, max-age=31536000, immutable',
  });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
  return true;
}
