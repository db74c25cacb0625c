import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { ErrorCode, errorMessage } from '../errors/catalog';
import { sendJson } from './http';
import { metricsRegistry } from './metrics';
import type { Readiness } from './readiness';

/**
 * The operators' listener of one process (gateway or worker), on its own port
 * (RAPPORT_METRICS_PORT) so that metrics never share the public API's port:
 * `GET /metrics` (Prometheus text format), `/healthz` and `/readyz` (the same
 * answers as the gateway's, so a worker has probes too). With
 * RAPPORT_METRICS_TOKEN set, `/metrics` needs `Authorization: Bearer <token>`.
 */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  token?: string;
  readiness: Readiness;
}): Promise<{ url: string; close(): Promise<void> }> {
  const expected = options.token ? digest(`Bearer ${options.token}`) : undefined;
  const server: Server = createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?')[0];
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendJson(res, 400, { code: ErrorCode.BAD_REQUEST, message: errorMessage('BAD_REQUEST', { detail: 'only GET is served here' }) });
      if (pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (pathname === '/readyz') return sendJson(res, ...(await options.readiness.check()));
      if (pathname !== '/metrics')
        return sendJson(res, 404, { code: ErrorCode.NOT_FOUND, message: errorMessage('NOT_FOUND', { detail: `no route ${pathname}` }) });
      if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
        res.setHeader('www-authenticate', 'Bearer realm="rapport-metrics"');
        return sendJson(res, 401, {
          code: ErrorCode.UNAUTHENTICATED,
          message: errorMessage('UNAUTHENTICATED', { reason: 'the metrics need the bearer token of RAPPORT_METRICS_TOKEN' }),
        });
      }
      const body = await metricsRegistry.metrics();
      res.writeHead(200, { 'content-type': metricsRegistry.contentType });
      res.end(body);
    })().catch(() => {
      if (!res.headersSent) sendJson(res, 500, { code: ErrorCode.INTERNAL_SERVER_ERROR, message: errorMessage('INTERNAL_SERVER_ERROR', {}) });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Fixed-length digests, so comparing them takes the same time whatever the header. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
