import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { collectFields } from 'graphql/execution/collectFields';
import { finishAudit, withAudit } from '../modules/access/audit';
import { authenticate } from '../modules/access/authenticate';
import { aliasLimitRule, costError, introspectionRule, operationCost } from '../modules/access/limits';
import { scopeRule } from '../modules/access/requirements';
import type { Principal } from '../modules/access/scopes';
import type { RapportServices } from '../app-services';
import { ErrorCode, errorMessage, RapportError } from '../errors/catalog';
import { compiledBatchExecution } from './compiled-batches';
import { CorsPolicy } from './cors';
import { createContext, type GraphQLContext } from './context';
import { depthLimitRule } from './depth-limit';
import { documentNestingError, findInputProblem, inputGuard } from './input-guard';
import { serveConsole } from './console';
import { serveGraphiQL } from './graphiql';
import { getSchema } from './schema';
import { closeIfBodyUnread, sendJson, type HttpRoute } from '../infra/http';
import { httpRoute, observeHttpRequest } from '../infra/metrics';
import { readinessOf } from '../infra/readiness';
import { inRequestSpan } from '../infra/tracing';
import { graphqlMetrics } from './metrics-plugin';
import { OUTAGE_RETRY_AFTER_SECONDS, outageOf, type Dependency } from '../infra/outage';

export type { HttpRoute, RouteRefusal } from '../infra/http';

/** Queries that are data-protection actions and therefore audited like mutations. */
const AUDITED_QUERIES = new Set(['exportCustomer']);

/** Limits of the GraphQL endpoint. */
export const GRAPHQL_LIMITS = { maxDepth: 12 } as const;

/** The gateway's request handler; `drain()` resolves when no request is being handled. */
export type HttpHandler = ((req: IncomingMessage, res: ServerResponse) => void) & {
  drain(): Promise<void>;
  /**
   * Starts a shutdown: `/readyz` answers 503 at once, a request that arrives
   * from now on is answered 503 SERVICE_UNAVAILABLE, and every answer (those
   * of requests in flight too) carries `Connection: close`, so keep-alive
   * connections end as their last request does.
   */
  startDraining(): void;
  /** The yoga instance behind /graphql, which the WebSocket transport shares. */
  yoga: GatewayYoga;
  /** The server's `checkContinue` listener: handles a request waiting for `100 Continue`. */
  checkContinue(req: IncomingMessage, res: ServerResponse): void;
};

/**
 * Request-level plugins, registered in one place: abuse limits (tokens, depth,
 * cost, aliases, introspection), authorization of every touched field against
 * the caller's scopes, the audit entry of every mutation, and compiled
 * execution of the batch mutations (registered first: the audit wraps it).
 */
function gatewayPlugins(services: RapportServices): Plugin[] {
  const auth = services.config.auth;
  const scopeErrors = scopeCheck();
  return [
    // First: no other plugin, and no coercion, sees an input it refuses.
    inputGuard(),
    // Before the plugins that may stop an execution (scopes, cost), so refusals are counted too.
    graphqlMetrics(),
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
      // Subscriptions are checked as queries are (scopes, cost, inputs), then each event runs with a fresh context.
      onSubscribe({ args, setSubscribeFn, setResultAndStopExecution }) {
        const context = args.contextValue as unknown as GraphQLContext;
        const problem = findInputProblem(
          args.schema,
          args.document,
          args.operationName ?? undefined,
          args.variableValues as Record<string, unknown> | undefined,
        );
        if (problem) return setResultAndStopExecution({ errors: [problem] });
        const denied = scopeErrors(args.schema, args.document, context.principal);
        if (denied.length > 0) return setResultAndStopExecution({ errors: [...denied] });
        const cost = operationCost(args.document, args.operationName, args.variableValues as Record<string, unknown> | undefined);
        if (cost > auth.maxQueryCost) return setResultAndStopExecution({ errors: [costError(cost, auth.maxQueryCost)] });
        setSubscribeFn((subscribeArgs) => subscribeWithFreshContexts(services, subscribeArgs));
      },
      onExecute({ args, setExecuteFn, executeFn, setResultAndStopExecution }) {
        const context = args.contextValue as unknown as GraphQLContext;
        // Principal-dependent, so checked per execution rather than in the cached validation.
        const denied = scopeErrors(args.schema, args.document, context.principal);
        if (denied.length > 0) {
          setResultAndStopExecution({ errors: [...denied] });
          return;
        }
        const cost = operationCost(args.document, args.operationName, args.variableValues as Record<string, unknown> | undefined);
        if (cost > auth.maxQueryCost) {
          setResultAndStopExecution({ errors: [costError(cost, auth.maxQueryCost)] });
          return;
        }
        const operation = getOperationAST(args.document, args.operationName);
        if (!operation || !context.principal) return;
        // The root fields that run, as execution collects them: through fragments and with @skip/@include applied.
        const rootFields = [...rootFieldsOf(args.schema, args.document, operation, (args.variableValues ?? {}) as Record<string, unknown>)];
        // Mutations and data-protection reads (exports) leave an audit entry.
        const audited = operation.operation === 'mutation' || rootFields.some((field) => AUDITED_QUERIES.has(field));
        if (!audited) return;
        const name = rootFields.join(',');
        const principal = context.principal;
        setExecuteFn((executionArgs) =>
          withAudit({ principal, operation: name, variables: executionArgs.variableValues ?? {} }, async () => {
            const result = await executeFn(executionArgs);
            const errors = 'errors' in result && result.errors ? result.errors : [];
            await finishAudit(
              services.dataSource,
              errors.map((e: GraphQLError) => String(e.extensions?.code ?? 'ERROR')),
            );
            return result;
          }),
        );
      },
    },
  ];
}

/**
 * The scope check of an operation: the fields of `document` the caller's
 * scopes do not allow. Its answer depends only on the schema, the document and
 * the set of scopes, so it is worked out once for each (documents are the
 * parse cache's own objects: a repeated query is the same document) rather
 * than walked again on every request.
 */
function scopeCheck(): (schema: GraphQLSchema, document: DocumentNode, principal: Principal | undefined) => readonly GraphQLError[] {
  const bySchema = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, readonly GraphQLError[]>>>();
  return (schema, document, principal) => {
    let byDocument = bySchema.get(schema);
    if (!byDocument) bySchema.set(schema, (byDocument = new WeakMap()));
    let byScopes = byDocument.get(document);
    if (!byScopes) byDocument.set(document, (byScopes = new Map()));
    const key = principal ? [...principal.scopes].sort().join(' ') : '';
    let errors = byScopes.get(key);
    if (!errors) byScopes.set(key, (errors = validate(schema, document, [scopeRule(principal)])));
    return errors;
  };
}

/** Names of the root fields `operation` executes (aliases resolved), in order. */
function rootFieldsOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): string[] {
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return [];
  const fragments = Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  return [...collectFields(schema, fragments, variables, rootType, operation.selectionSet).values()].map((nodes) => nodes[0].name.value);
}

/** How often a live subscription's credentials are checked again (a revoked or expired key ends it). */
export const SUBSCRIPTION_REAUTH_MS = 1_000;

/**
 * graphql-js's subscribe, except that each event executes with a new
 * context (fresh loaders: what a subscriber reads is as of the event, never a
 * cache from an earlier one), and that the caller's credentials are checked
 * again before an event once SUBSCRIPTION_REAUTH_MS have passed: a key
 * revoked or expired ends the subscription with UNAUTHENTICATED.
 */
async function subscribeWithFreshContexts(services: RapportServices, args: ExecutionArgs): Promise<ExecutionResult | AsyncIterableIterator<ExecutionResult>> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream;
  const source = stream[Symbol.asyncIterator]();
  const base = args.contextValue as GraphQLContext;
  let checkedAt = Date.now();
  let ended = false;
  const end = async (): Promise<IteratorResult<ExecutionResult>> => {
    ended = true;
    await source.return?.();
    return { value: undefined, done: true };
  };
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    async next(): Promise<IteratorResult<ExecutionResult>> {
      if (ended) return { value: undefined, done: true };
      const event = await source.next();
      if (event.done || ended) return end();
      if (base.stillAuthenticated && Date.now() - checkedAt >= SUBSCRIPTION_REAUTH_MS) {
        checkedAt = Date.now();
        if (!(await base.stillAuthenticated())) {
          await end();
          const reason = 'the credentials of this subscription are no longer accepted (revoked or expired)';
          return {
            value: { errors: [new GraphQLError(errorMessage('UNAUTHENTICATED', { reason }), { extensions: { code: ErrorCode.UNAUTHENTICATED } })] },
            done: false,
          };
        }
      }
      const contextValue = createContext(services, base.principal, base.stillAuthenticated);
      return { value: await execute({ ...args, rootValue: event.value, contextValue }), done: false };
    },
    return: end,
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
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
        // details: every problem of the input where there were several (SEGMENT_RULE_INVALID's problems,
        // CONNECTOR_CONFIG_INVALID's issues), as docs/errors.md lists them; only ever about the caller's own input.
        extensions: { code: original.code, ...(original.field ? { field: original.field } : {}), ...(original.details ? { details: original.details } : {}) },
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
    const dependency = outageOf(original);
    if (dependency) {
      services.logger.warn({ err: original, path: graphqlError?.path, dependency }, 'a dependency is unavailable');
      return unavailableError(dependency, graphqlError);
    }
    services.logger.error({ err: original, path: graphqlError?.path }, 'unexpected error in GraphQL execution');
    return new GraphQLError(errorMessage('INTERNAL_SERVER_ERROR', {}), {
      nodes: graphqlError?.nodes,
      path: graphqlError?.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    });
  };
}

/**
 * SERVICE_UNAVAILABLE for an operation that met an outage. The `http`
 * extension makes yoga answer the whole response 503 with Retry-After (and is
 * not sent to the client); `retryAfter` says the same in the body.
 */
function unavailableError(dependency: Dependency, at?: GraphQLError): GraphQLError {
  return new GraphQLError(errorMessage('SERVICE_UNAVAILABLE', { dependency, seconds: OUTAGE_RETRY_AFTER_SECONDS }), {
    nodes: at?.nodes,
    path: at?.path,
    extensions: {
      code: ErrorCode.SERVICE_UNAVAILABLE,
      retryAfter: OUTAGE_RETRY_AFTER_SECONDS,
      http: { status: 503, headers: { 'retry-after': String(OUTAGE_RETRY_AFTER_SECONDS) } },
    },
  });
}

/** Answers 503 SERVICE_UNAVAILABLE in the GraphQL response format, with Retry-After. */
export function sendUnavailable(res: ServerResponse, dependency: Dependency | 'server', seconds = OUTAGE_RETRY_AFTER_SECONDS): void {
  res.setHeader('retry-after', String(seconds));
  sendJson(res, 503, {
    errors: [
      {
        message: errorMessage('SERVICE_UNAVAILABLE', { dependency: dependency === 'server' ? 'the server is shutting down' : dependency, seconds }),
        extensions: { code: ErrorCode.SERVICE_UNAVAILABLE, retryAfter: seconds },
      },
    ],
  });
}

/** What the gateway hands yoga with each operation: the authenticated caller and how to check its credentials again. */
export interface GatewayServerContext {
  principal?: Principal;
  stillAuthenticated?: () => Promise<boolean>;
}

export type GatewayYoga = YogaServerInstance<GatewayServerContext, GraphQLContext>;

export function createYogaServer(services: RapportServices): GatewayYoga {
  return createYoga<GatewayServerContext, GraphQLContext>({
    schema: getSchema(),
    graphqlEndpoint: '/graphql',
    context: ({ principal, stillAuthenticated }) => createContext(services, principal, stillAuthenticated),
    maskedErrors: { maskError: maskError(services) },
    // The gateway serves GraphiQL itself, with its assets (see ./graphiql).
    graphiql: false,
    // The gateway applies one CORS policy to every route, preflights included (see
    // CorsPolicy); yoga's own would reflect any origin and allow credentials.
    cors: false,
    landingPage: false,
    logging: false,
    plugins: gatewayPlugins(services),
  });
}

/**
 * The gateway's HTTP handler: preflights, health endpoints, the extra routes,
 * then GraphQL. No body is read before the caller is authenticated (a route's
 * `admit`, GraphQL's bearer check and rate limit), and none beyond its limit:
 * a request refused before its body is read is answered at once and its
 * connection closed, so the body is never taken in.
 */
export function createHttpHandler(services: RapportServices, extraRoutes: HttpRoute[] = []): HttpHandler {
  const yoga = createYogaServer(services);
  const maxBody = services.config.maxBodyBytes;
  const cors = new CorsPolicy(services.config.corsOrigins);
  // Requests that sent `Expect: 100-continue` and wait for the go-ahead before sending their body.
  const awaitingContinue = new WeakSet<IncomingMessage>();
  const read = (req: IncomingMessage, res: ServerResponse, limit: number) => {
    if (awaitingContinue.delete(req)) res.writeContinue();
    return readBody(req, limit);
  };

  const inFlight = new Set<Promise<unknown>>();
  let draining = false;
  // Answers of requests still running when the drain starts close their connection too.
  const running = new Set<ServerResponse>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (draining) {
      // Work that arrives after the drain started is refused, whichever keep-alive connection it came on.
      res.setHeader('connection', 'close');
      closeIfBodyUnread(req, res);
      if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (url.pathname === '/readyz')
        return void readinessOf(services)
          .check()
          .then(([status, body]) => sendJson(res, status, body));
      return sendUnavailable(res, 'server');
    }
    running.add(res);
    res.once('close', () => running.delete(res));
    // An answer already under way when the drain started (a stream) could not take the header: its connection ends with it.
    res.once('finish', () => {
      if (draining && res.getHeader('connection') !== 'close') res.socket?.end();
    });
    const handle = async () => {
      cors.apply(req, res);
      if (req.method === 'OPTIONS') {
        closeIfBodyUnread(req, res);
        return cors.preflight(req, res);
      }
      if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (url.pathname === '/readyz') return sendJson(res, ...(await readinessOf(services).check()));
      for (const route of extraRoutes) {
        if (route.matches(req.method ?? 'GET', url.pathname)) {
          const refusal = await route.admit?.(req);
          if (refusal) {
            for (const [name, value] of Object.entries(refusal.headers ?? {})) res.setHeader(name, value);
            return sendJson(res, refusal.status, { code: refusal.code, message: refusal.message });
          }
          const body = await read(req, res, route.maxBodyBytes ?? maxBody);
          if (body === 'too-large') return sendTooLarge(res, route.maxBodyBytes ?? maxBody);
          return route.handle(req, res, body, url);
        }
      }
      // The GraphiQL page and its assets are public and hold no credential: a developer
      // pastes a key into GraphiQL's Headers tab (`npm start` prints how).
      if (serveGraphiQL(req, res, url, '/graphql')) return;
      // The console (packages/console) is public too: its user pastes a key into its login form.
      if (serveConsole(req, res, url)) return;
      if (url.pathname !== '/graphql') return sendJson(res, 404, { code: ErrorCode.NOT_FOUND, message: `no route ${url.pathname}` });
      // Every operation needs credentials, checked before the body is read.
      const authentication = await authenticate(req.headers.authorization, services.config, services.apiKeys);
      if (!authentication.ok) {
        res.setHeader('www-authenticate', 'Bearer realm="rapport"');
        return sendJson(res, 401, {
          errors: [{ message: errorMessage('UNAUTHENTICATED', { reason: authentication.reason }), extensions: { code: ErrorCode.UNAUTHENTICATED } }],
        });
      }
      const principal = authentication.principal;
      const decision = await services.rateLimiter.take(principal.subject);
      if (!decision.allowed) {
        res.setHeader('retry-after', String(decision.retryAfterSeconds));
        return sendJson(res, 429, {
          errors: [
            {
              message: errorMessage('RATE_LIMITED', { seconds: decision.retryAfterSeconds }),
              extensions: { code: ErrorCode.RATE_LIMITED, retryAfter: decision.retryAfterSeconds },
            },
          ],
        });
      }
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await read(req, res, maxBody);
      if (body === 'too-large') return sendTooLarge(res, maxBody);
      const headers = new Headers();
      for (const [key, value] of Object.entries(req.headers)) {
        if (Array.isArray(value)) value.forEach((v) => headers.append(key, v));
        else if (value !== undefined) headers.set(key, value);
      }
      const response = await yoga.fetch(
        url,
        {
          method: req.method,
          headers,
          body: body && body.length > 0 ? (body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer) : undefined,
        },
        { principal, stillAuthenticated: credentialCheck(services, req.headers.authorization) },
      );
      res.statusCode = response.status;
      response.headers.forEach((value, key) => res.setHeader(key, value));
      if (!response.body) return res.end();
      await writeStream(response.body, res);
    };
    observeHttpRequest(req, res);
    // A server span around the whole answer; jobs the request enqueues continue its trace (src/infra/tracing.ts).
    const handled = inRequestSpan(req.headers, req.method ?? 'GET', httpRoute(req.url), handle)
      .catch((error: unknown) => {
        if (error instanceof ClientGoneError) return;
        const dependency = outageOf(error);
        if (dependency) services.logger.warn({ err: error, dependency }, 'request refused: a dependency is unavailable');
        else services.logger.error({ err: error }, 'request failed');
        if (res.headersSent) res.end();
        else if (dependency) sendUnavailable(res, dependency);
        else sendJson(res, 500, { code: ErrorCode.INTERNAL_SERVER_ERROR, message: errorMessage('INTERNAL_SERVER_ERROR', {}) });
      })
      .finally(() => inFlight.delete(handled));
    inFlight.add(handled);
  };
  return Object.assign(handler, {
    yoga,
    startDraining: () => {
      draining = true;
      readinessOf(services).drain();
      for (const res of running) if (!res.headersSent) res.setHeader('connection', 'close');
    },
    // Shutdown waits for handlers still running, even when their client has gone.
    drain: async () => void (await Promise.allSettled([...inFlight])),
    checkContinue: (req: IncomingMessage, res: ServerResponse) => {
      awaitingContinue.add(req);
      handler(req, res);
    },
  });
}

/** Checks again that the credential of a long-lived operation (a subscription) is still accepted. */
export function credentialCheck(services: RapportServices, authorization: string | undefined): () => Promise<boolean> {
  return async () => (await authenticate(authorization, services.config, services.apiKeys)).ok;
}

/**
 * Writes a streamed response (subscriptions over SSE, incremental delivery)
 * chunk by chunk, reading the next chunk only once the socket has taken the
 * last: a client that reads slowly holds the stream back instead of growing
 * the socket's buffer (its subscription then drops and counts events). A
 * client that goes away cancels the stream, which ends the subscription.
 */
async function writeStream(body: ReadableStream<Uint8Array>, res: ServerResponse): Promise<void> {
  const reader = body.getReader();
  let gone = false;
  const onClose = () => {
    gone = true;
    void reader.cancel().catch(() => undefined);
  };
  res.once('close', onClose);
  // A client that left while the answer was being computed closed the response already: its 'close' will not
  // come again, and a write would wait for a 'drain' that never comes (holding the shutdown's drain forever).
  if (res.destroyed) onClose();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done || gone || res.destroyed) break;
      if (!res.write(value) && !res.destroyed) await new Promise<void>((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
    }
  } catch (error) {
    if (!gone) throw error;
  } finally {
    res.off('close', onClose);
  }
  res.end();
}

/**
 * The gateway's HTTP server around `handler`. A request with
 * `Expect: 100-continue` is told to send its body only once it is admitted,
 * so a refused client does not even send it.
 */
export function createGatewayServer(handler: HttpHandler): Server {
  const server = createServer(handler);
  server.on('checkContinue', handler.checkContinue);
  return server;
}

/** The client closed the connection before its body arrived: there is nobody to answer. */
class ClientGoneError extends Error {}

/**
 * Reads the body up to `limit` bytes. Past the limit it stops reading (the
 * rest is never taken in; the answer closes the connection).
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve('too-large');
  // A client that left while the request was authenticated or rate-limited destroyed it already: no event comes.
  if (req.destroyed && !req.readableEnded) return Promise.reject(new ClientGoneError('the client closed the connection before sending its whole body'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done();
        req.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks));
    };
    const onGone = () => {
      done();
      reject(new ClientGoneError('the client closed the connection before sending its whole body'));
    };
    req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

function sendTooLarge(res: ServerResponse, limit: number): void {
  sendJson(res, 413, {
    errors: [{ message: errorMessage('PAYLOAD_TOO_LARGE', { limit }), extensions: { code: ErrorCode.PAYLOAD_TOO_LARGE } }],
  });
}
