import type { IncomingMessage, ServerResponse } from 'node:http';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { getOperationAST, GraphQLError, Kind, parse, validate } from 'graphql';
import { finishAudit, withAudit } from '../modules/access/audit';
import { authenticate } from '../modules/access/authenticate';
import { aliasLimitRule, costError, introspectionRule, operationCost } from '../modules/access/limits';
import { scopeRule } from '../modules/access/requirements';
import type { Principal } from '../modules/access/scopes';
import type { RapportServices } from '../app-services';
import { ErrorCode, RapportError } from '../errors/catalog';
import { compiledBatchExecution } from './compiled-batches';
import { createContext, type GraphQLContext } from './context';
import { depthLimitRule } from './depth-limit';
import { documentNestingError, inputGuard } from './input-guard';
import { getSchema } from './schema';

/** Queries that are data-protection actions and therefore audited like mutations. */
const AUDITED_QUERIES = new Set(['exportCustomer']);

/** Limits of the GraphQL endpoint. */
export const GRAPHQL_LIMITS = { maxDepth: 12 } as const;

/** The gateway's request handler; `drain()` resolves when no request is being handled. */
export type HttpHandler = ((req: IncomingMessage, res: ServerResponse) => void) & { drain(): Promise<void> };

/**
 * Request-level plugins, registered in one place: abuse limits (tokens, depth,
 * cost, aliases, introspection), authorization of every touched field against
 * the caller's scopes, the audit entry of every mutation, and compiled
 * execution of the batch mutations (registered first: the audit wraps it).
 */
function gatewayPlugins(services: RapportServices): Plugin[] {
  const auth = services.config.auth;
  return [
    // First: no other plugin, and no coercion, sees an input it refuses.
    inputGuard(),
    compiledBatchExecution(),
    {
      onParse({ setParseFn }) {
        setParseFn((source, options) => {
          const nesting = documentNestingError(typeof source === 'string' ? source : source.body);
          if (nesting) throw nesting;
          try {
            return parse(source, { ...options, maxTokens: auth.maxTokens });
          } catch (error) {
            if (error instanceof GraphQLError && /tokens/.test(error.message)) {
              throw new GraphQLError(`the document has more than ${auth.maxTokens} tokens`, { extensions: { code: ErrorCode.QUERY_TOO_COMPLEX } });
            }
            throw error;
          }
        });
      },
      onValidate({ addValidationRule }) {
        addValidationRule(depthLimitRule(GRAPHQL_LIMITS.maxDepth));
        addValidationRule(aliasLimitRule(auth.maxAliases));
        if (!auth.introspection) addValidationRule(introspectionRule());
      },
      onExecute({ args, setExecuteFn, executeFn, setResultAndStopExecution }) {
        const context = args.contextValue as unknown as GraphQLContext;
        // Principal-dependent, so checked per execution rather than in the cached validation.
        const denied = validate(args.schema, args.document, [scopeRule(context.principal)]);
        if (denied.length > 0) {
          setResultAndStopExecution({ errors: denied });
          return;
        }
        const cost = operationCost(args.document, args.operationName, args.variableValues as Record<string, unknown> | undefined);
        if (cost > auth.maxQueryCost) {
          setResultAndStopExecution({ errors: [costError(cost, auth.maxQueryCost)] });
          return;
        }
        const operation = getOperationAST(args.document, args.operationName);
        // Mutations and data-protection reads (exports) leave an audit entry.
        const audited =
          operation?.operation === 'mutation' ||
          Boolean(operation?.selectionSet.selections.some((s) => s.kind === Kind.FIELD && AUDITED_QUERIES.has(s.name.value)));
        if (!operation || !audited || !context.principal) return;
        const name = operation.selectionSet.selections.map((s) => (s.kind === Kind.FIELD ? s.name.value : '…')).join(',');
        const principal = context.principal;
        setExecuteFn((executionArgs) =>
          withAudit({ principal, operation: name, variables: executionArgs.variableValues ?? {} }, async () => {
            const result = await executeFn(executionArgs);
            const errors = 'errors' in result && result.errors ? result.errors : [];
            await finishAudit(services.dataSource, errors.map((e: GraphQLError) => String(e.extensions?.code ?? "ERROR")));
            return result;
          }),
        );
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

export function createYogaServer(services: RapportServices, options: { graphiqlKey?: string } = {}): YogaServerInstance<{ principal?: Principal }, GraphQLContext> {
  return createYoga<{ principal?: Principal }, GraphQLContext>({
    schema: getSchema(),
    graphqlEndpoint: '/graphql',
    context: ({ principal }) => createContext(services, principal),
    maskedErrors: { maskError: maskError(services) },
    // In embedded (development) mode GraphiQL opens with the development admin key filled in.
    graphiql: { title: 'Rapport', headers: options.graphiqlKey ? JSON.stringify({ Authorization: `Bearer ${options.graphiqlKey}` }) : undefined },
    landingPage: false,
    logging: false,
    plugins: gatewayPlugins(services),
  });
}

/**
 * The gateway's HTTP handler: health endpoints, then GraphQL. Bodies are read
 * here with a hard size limit before GraphQL sees them.
 */
export function createHttpHandler(services: RapportServices, extraRoutes: HttpRoute[] = [], options: { graphiqlKey?: string } = {}): HttpHandler {
  const yoga = createYogaServer(services, options);
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
      // The GraphiQL page itself is public; every operation needs credentials.
      const wantsPage = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html') && !url.searchParams.has('query');
      let principal: Principal | undefined;
      if (!wantsPage) {
        const authentication = await authenticate(req.headers.authorization, services.config, services.apiKeys);
        if (!authentication.ok) {
          res.setHeader('www-authenticate', 'Bearer realm="rapport"');
          return sendJson(res, 401, { errors: [{ message: authentication.reason, extensions: { code: ErrorCode.UNAUTHENTICATED } }] });
        }
        principal = authentication.principal;
        const decision = await services.rateLimiter.take(principal.subject);
        if (!decision.allowed) {
          res.setHeader('retry-after', String(decision.retryAfterSeconds));
          return sendJson(res, 429, {
            errors: [{ message: `rate limit exceeded; retry in ${decision.retryAfterSeconds} s`, extensions: { code: ErrorCode.RATE_LIMITED, retryAfter: decision.retryAfterSeconds } }],
          });
        }
      }
      const headers = new Headers();
      for (const [key, value] of Object.entries(req.headers)) {
        if (Array.isArray(value)) value.forEach((v) => headers.append(key, v));
        else if (value !== undefined) headers.set(key, value);
      }
      const response = await yoga.fetch(
        url,
        { method: req.method, headers, body: body && body.length > 0 ? (body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer) : undefined },
        { principal },
      );
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
