import type { IncomingMessage, ServerResponse } from 'node:http';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import type { RapportServices } from '../app-services';
import { ErrorCode, RapportError } from '../errors/catalog';
import { createContext, type GraphQLContext } from './context';
import { depthLimitRule } from './depth-limit';
import { getSchema } from './schema';

/** Limits of the GraphQL endpoint. */
export const GRAPHQL_LIMITS = { maxDepth: 12 } as const;

/** The gateway's request handler; `drain()` resolves when no request is being handled. */
export type HttpHandler = ((req: IncomingMessage, res: ServerResponse) => void) & { drain(): Promise<void> };

/** Request-level plugins registered in one place (limits, error codes). */
function limitPlugins(): Plugin[] {
  return [
    {
      onValidate({ addValidationRule }) {
        addValidationRule(depthLimitRule(GRAPHQL_LIMITS.maxDepth));
      },
    },
  ];
}

/**
 * Every error leaves with a stable `extensions.code`: expected ones keep their
 * message; anything unexpected is logged with its cause and masked.
 */
function maskError(services: RapportServices) {
  return (error: unknown): Error => {
    const graphqlError = error instanceof GraphQLError ? error : undefined;
    const original = graphqlError?.originalError ?? error;
    if (original instanceof RapportError) {
      return new GraphQLError(original.message, {
        nodes: graphqlError?.nodes,
        path: graphqlError?.path,
        extensions: { code: original.code, ...(original.field ? { field: original.field } : {}) },
      });
    }
    if (graphqlError && (graphqlError.extensions?.code || !graphqlError.originalError || graphqlError.originalError instanceof GraphQLError)) {
      const code = graphqlError.extensions?.code ?? (graphqlError.originalError as GraphQLError | undefined)?.extensions?.code ?? ErrorCode.BAD_REQUEST;
      return new GraphQLError(graphqlError.message, {
        nodes: graphqlError.nodes,
        path: graphqlError.path,
        extensions: { ...graphqlError.extensions, code },
      });
    }
    services.logger.error({ err: original, path: graphqlError?.path }, 'unexpected error in GraphQL execution');
    return new GraphQLError('Unexpected error.', {
      nodes: graphqlError?.nodes,
      path: graphqlError?.path,
      extensions: { code: ErrorCode.INTERNAL },
    });
  };
}

export function createYogaServer(services: RapportServices): YogaServerInstance<Record<string, never>, GraphQLContext> {
  return createYoga<Record<string, never>, GraphQLContext>({
    schema: getSchema(),
    graphqlEndpoint: '/graphql',
    context: () => createContext(services),
    maskedErrors: { maskError: maskError(services) },
    graphiql: { title: 'Rapport' },
    landingPage: false,
    logging: false,
    plugins: limitPlugins(),
  });
}

/**
 * The gateway's HTTP handler: health endpoints, then GraphQL. Bodies are read
 * here with a hard size limit before GraphQL sees them.
 */
export function createHttpHandler(services: RapportServices, extraRoutes: HttpRoute[] = []): HttpHandler {
  const yoga = createYogaServer(services);
  const maxBody = services.config.maxBodyBytes;

  const inFlight = new Set<Promise<unknown>>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handle = async () => {
      if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (url.pathname === '/readyz') return sendJson(res, ...(await readiness(services)));
      for (const route of extraRoutes) {
        if (route.matches(req.method ?? 'GET', url.pathname)) {
          const body = await readBody(req, route.maxBodyBytes ?? maxBody);
          if (body === 'too-large') return sendTooLarge(res, route.maxBodyBytes ?? maxBody);
          return route.handle(req, res, body, url);
        }
      }
      if (url.pathname !== '/graphql') return sendJson(res, 404, { code: ErrorCode.NOT_FOUND, message: `no route ${url.pathname}` });
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req, maxBody);
      if (body === 'too-large') return sendTooLarge(res, maxBody);
      const headers = new Headers();
      for (const [key, value] of Object.entries(req.headers)) {
        if (Array.isArray(value)) value.forEach((v) => headers.append(key, v));
        else if (value !== undefined) headers.set(key, value);
      }
      const response = await yoga.fetch(url, { method: req.method, headers, body: body && body.length > 0 ? (body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer) : undefined });
      res.statusCode = response.status;
      response.headers.forEach((value, key) => res.setHeader(key, value));
      if (!response.body) return res.end();
      // Streamed responses (subscriptions, incremental delivery) are written chunk by chunk.
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
      res.end();
    };
    const running = handle()
      .catch((error: unknown) => {
        services.logger.error({ err: error }, 'request failed');
        if (!res.headersSent) sendJson(res, 500, { code: ErrorCode.INTERNAL, message: 'Unexpected error.' });
        else res.end();
      })
      .finally(() => inFlight.delete(running));
    inFlight.add(running);
  };
  // Shutdown waits for handlers still running, even when their client has gone.
  return Object.assign(handler, { drain: async () => void (await Promise.allSettled([...inFlight])) });
}

/** A non-GraphQL HTTP route (webhooks, tracking) mounted on the gateway. */
export interface HttpRoute {
  matches(method: string, path: string): boolean;
  maxBodyBytes?: number;
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined, url: URL): Promise<void> | void;
}

async function readiness(services: RapportServices): Promise<[number, unknown]> {
  const checks: Record<string, string> = {};
  await services.dataSource.query('SELECT 1').then(() => (checks.database = 'ok'), (e: Error) => (checks.database = e.message));
  await services.queues.ping().then(() => (checks.queue = 'ok'), (e: Error) => (checks.queue = e.message));
  const ready = Object.values(checks).every((v) => v === 'ok');
  return [ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks }];
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return 'too-large';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return 'too-large';
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendTooLarge(res: ServerResponse, limit: number): void {
  sendJson(res, 413, {
    errors: [{ message: `request body is larger than ${limit} bytes`, extensions: { code: ErrorCode.PAYLOAD_TOO_LARGE } }],
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
