import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, type ExecutionArgs } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { RapportServices } from '../app-services';
import { ErrorCode, errorMessage } from '../errors/catalog';
import { authenticate } from '../modules/access';
import type { Principal } from '../modules/access/scopes';
import { credentialCheck, type HttpHandler } from './server';

/** What a connection keeps once authenticated. */
interface Connection {
  principal?: Principal;
  authorization?: string;
}

/** The enveloped functions of one operation, carried to graphql-ws's execute and subscribe. */
type Enveloped = ReturnType<HttpHandler['yoga']['getEnveloped']>;

/**
 * The bearer credential of a connection: `authorization` (or `Authorization`)
 * in the connection_init payload, else the upgrade request's header.
 */
function authorizationOf(params: Readonly<Record<string, unknown>> | undefined, header: string | undefined): string | undefined {
  const given = params?.authorization ?? params?.Authorization;
  return typeof given === 'string' ? given : header;
}

/**
 * GraphQL over WebSocket (the graphql-ws protocol) on the gateway's own
 * server and port, path /graphql. A connection authenticates in its
 * connection_init as an HTTP request does (`{ "authorization": "Bearer …" }`,
 * or the upgrade request's header); each subscription takes a rate-limit
 * token and runs through the same yoga instance, plugins and checks as HTTP.
 * Queries and mutations are refused here (BAD_REQUEST): they go over HTTP.
 */
export function attachGraphqlWs(server: Server, handler: HttpHandler, services: RapportServices): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: services.config.maxBodyBytes });
  const connections = new WeakMap<object, Connection>();
  const disposable = useServer<Record<string, unknown>>(
    {
      onConnect: async (ctx) => {
        const authorization = authorizationOf(ctx.connectionParams, ctx.extra.request.headers.authorization);
        const authentication = await authenticate(authorization, services.config, services.apiKeys);
        if (!authentication.ok) {
          // The close reason is limited to 123 bytes.
          ctx.extra.socket.close(CloseCode.Unauthorized, `${ErrorCode.UNAUTHENTICATED}: ${authentication.reason}`.slice(0, 120));
          return false;
        }
        connections.set(ctx, { principal: authentication.principal, authorization });
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const connection = connections.get(ctx);
        if (!connection?.principal) {
          return [new GraphQLError(errorMessage('UNAUTHENTICATED', { reason: 'not authenticated' }), { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        }
        const decision = await services.rateLimiter.take(connection.principal.subject);
        if (!decision.allowed) {
          return [
            new GraphQLError(errorMessage('RATE_LIMITED', { seconds: decision.retryAfterSeconds }), {
              extensions: { code: ErrorCode.RATE_LIMITED, retryAfter: decision.retryAfterSeconds },
            }),
          ];
        }
        const enveloped = handler.yoga.getEnveloped({
          principal: connection.principal,
          stillAuthenticated: credentialCheck(services, connection.authorization),
          params: payload,
        } as never);
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          return [
            error instanceof GraphQLError ? error : new GraphQLError('the document could not be parsed', { extensions: { code: ErrorCode.BAD_REQUEST } }),
          ];
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        // Queries and mutations keep one path, HTTP, with its body limit and audit.
        if (getOperationAST(document, payload.operationName)?.operation !== 'subscription') {
          const detail = 'only subscriptions run over WebSocket; send queries and mutations to POST /graphql';
          return [new GraphQLError(detail, { extensions: { code: ErrorCode.BAD_REQUEST } })];
        }
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: enveloped,
        };
        return args;
      },
      execute: (args) => (args.rootValue as Enveloped).execute({ ...args, rootValue: undefined }),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe({ ...args, rootValue: undefined }),
    },
    wss,
  );
  return {
    async close() {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
