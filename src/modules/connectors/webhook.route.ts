import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { ErrorCode, errorMessage } from '../../errors/catalog';
import { isDatabaseId } from '../../infra/db-values';
import { sendJson, type HttpRoute } from '../../infra/http';
import type { Logger } from '../../infra/logger';
import { commitBatch, validateBatchRows, type IngestTargets } from './batch-commit';
import type { ConnectionRecord, ConnectionService } from './connection.service';
import type { ConnectorRegistry } from './connector-registry';
import type { ConnectorRunService } from './connector-run.service';
import { PluginCallError, type PluginHosts } from './plugin-hosts';
import type { WebhookRefusalReason } from './webhook-refusal.service';
import type { WebhookRefusalService } from './webhook-refusal.service';

/** Options of {@link createWebhookRoute}. */
export interface WebhookRouteOptions {
  /** Largest body accepted; larger gets 413. */
  maxBodyBytes: number;
}

const PATH = /^\/hooks\/([^/]+)\/?$/;

/**
 * The one answer to every refused delivery: unknown or malformed connection
 * id, connector without webhooks or not loaded, paused connection, signature
 * refused by the plugin's `verify`. A caller cannot tell which, so the endpoint
 * is no oracle of which connections exist; operators see the reason in
 * `Connection.refusedDeliveries` and the gateway's warn log.
 */
export const REFUSED_DELIVERY = {
  status: 401,
  body: {
    code: ErrorCode.WEBHOOK_REFUSED,
    message: errorMessage('WEBHOOK_REFUSED', {}),
  },
} as const;

/** The connection id in the path, when it is one (digits within bigint's range, percent-encoded or not). */
function connectionIdOf(segment: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  return isDatabaseId(decoded) ? decoded : undefined;
}

const text = (max: number) => z.string().transform((value) => value.slice(0, max));

/** What a plugin host answers a delivery (see WebhookOutcome); anything else is refused. */
const webhookOutcomeSchema = z.union([
  z.strictObject({ verified: z.literal(false), verifyError: z.string().max(200).optional() }),
  z.strictObject({ verified: z.literal(true), refused: z.string().transform((reason) => reason.slice(0, 2000)) }),
  z.strictObject({ verified: z.literal(true), batch: z.unknown() }),
  z.strictObject({
    verified: z.literal(true),
    invalid: z.strictObject({ path: text(500), code: z.enum([ErrorCode.INVALID_TEXT, ErrorCode.INPUT_TOO_COMPLEX]), message: text(1000) }),
  }),
]);

/**
 * `POST /hooks/:connectionId`: the plugin verifies the request and parses it
 * (400 with the reason when it cannot), both in the plugin's warm host with the
 * call deadline (503 past it); the batch is validated (400 naming each bad
 * record) and committed ATOMIC through the ingest service; the answer is 200
 * only after the commit. Interactions are stored under the connection's source
 * (its own, or the remote account's when the connector declares `sourceKey`),
 * so a redelivery is absorbed as a duplicate. Every refusal before the body is
 * accepted gets {@link REFUSED_DELIVERY}; those of an existing connection are
 * counted (`webhook_refusals`) and logged with their reason, never the body.
 */
export function createWebhookRoute(
  deps: {
    registry: ConnectorRegistry;
    connections: ConnectionService;
    runs: ConnectorRunService;
    refusals: WebhookRefusalService;
    targets: IngestTargets;
    hosts: PluginHosts;
    logger: Logger;
  },
  options: WebhookRouteOptions,
): HttpRoute {
  return {
    maxBodyBytes: options.maxBodyBytes,
    matches: (_method, path) => PATH.test(path),
    async handle(req, res, body, url) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return sendJson(res, 405, { code: ErrorCode.BAD_REQUEST, message: 'webhooks are delivered with POST' });
      }
      // Logged at warn and counted on the connection (Connection.refusedDeliveries), never with the body.
      const count = async (connection: ConnectionRecord, reason: WebhookRefusalReason, fields: Record<string, unknown> = {}) => {
        deps.logger.warn({ connectionId: connection.id, connector: connection.connector, reason, ...fields }, 'webhook delivery refused');
        // The sender gets its answer whether or not the count could be kept (the connection deleted meanwhile, the database away).
        await deps.refusals
          .record(connection.id, reason)
          .catch((error: unknown) => deps.logger.error({ err: error, connectionId: connection.id }, 'could not count a refused webhook delivery'));
      };
      const refuse = async (connection: ConnectionRecord, reason: WebhookRefusalReason, fields: Record<string, unknown> = {}) => {
        await count(connection, reason, fields);
        sendJson(res, REFUSED_DELIVERY.status, REFUSED_DELIVERY.body);
      };
      // An authentic delivery whose body is refused: 400 with the fields at fault (paths and codes only in the log).
      const refuseBody = async (connection: ConnectionRecord, answer: { message: string; reason?: string; errors?: { path?: string; code: string }[] }) => {
        await count(connection, 'PAYLOAD_INVALID', { errors: answer.errors?.slice(0, 5).map((e) => ({ path: e.path, code: e.code })) });
        sendJson(res, 400, { code: ErrorCode.WEBHOOK_PAYLOAD_INVALID, ...answer });
      };
      const segment = PATH.exec(url.pathname)?.[1];
      const requestedId = segment === undefined ? undefined : connectionIdOf(segment);
      const connection = requestedId === undefined ? undefined : await deps.connections.get(requestedId);
      if (!connection) {
        // Nothing to count it against; anyone can send these, so they stay out of the warn log.
        deps.logger.debug({ connectionId: requestedId ?? null }, 'webhook delivery to no connection refused');
        return sendJson(res, REFUSED_DELIVERY.status, REFUSED_DELIVERY.body);
      }
      const connectionId = connection.id;
      const plugin = deps.registry.find(connection.connector);
      if (plugin?.status !== 'LOADED') return refuse(connection, 'CONNECTOR_UNAVAILABLE');
      if (!plugin.manifest.webhook) return refuse(connection, 'NO_WEBHOOK');
      if (connection.status === 'PAUSED') return refuse(connection, 'CONNECTION_PAUSED');

      const log = deps.logger.child({ connectionId, connector: connection.connector });
      let config: Record<string, unknown>;
      try {
        config = deps.connections.decryptedConfig(connection, plugin.manifest);
      } catch (error) {
        // The stored secrets cannot be read (no secret key, or another one): the sender retries once an operator fixes it.
        log.error({ err: error }, 'could not decrypt the connection config for a webhook delivery');
        return sendJson(res, 503, {
          code: ErrorCode.CONNECTOR_UNAVAILABLE,
          message: errorMessage('CONNECTOR_UNAVAILABLE', { detail: 'the connection cannot be used right now; retry later' }),
        });
      }
      const runnable = { id: plugin.id, entry: plugin.entry, root: plugin.root };
      const request = { headers: headersOf(req), rawBodyBase64: (body ?? Buffer.alloc(0)).toString('base64') };

      let answer: unknown;
      try {
        answer = await deps.hosts.call(runnable, { op: 'webhook', config, request });
      } catch (error) {
        return pluginFailed(res, log, error);
      }
      const outcome = webhookOutcomeSchema.safeParse(answer);
      if (!outcome.success)
        return pluginFailed(res, log, new PluginCallError('crashed', 'the plugin answered a delivery with something that is not an outcome'));
      // One outcome, counted as SIGNATURE_INVALID: verify returned anything but true, or threw (its code or class comes along, never its message: it could quote the body).
      if (!outcome.data.verified) return refuse(connection, 'SIGNATURE_INVALID', outcome.data.verifyError ? { verifyError: outcome.data.verifyError } : {});
      if ('refused' in outcome.data) {
        const reason = outcome.data.refused;
        return refuseBody(connection, { message: `the body could not be parsed: ${reason}`, reason });
      }
      if ('invalid' in outcome.data) {
        const problem = outcome.data.invalid;
        return refuseBody(connection, { message: `the delivery holds invalid records: ${problem.message}`, errors: [problem] });
      }
      const batch = outcome.data.batch;
      const scope = deps.connections.ingestScope(connection);
      const checked = validateBatchRows(batch, scope);
      if (checked.errors.length > 0) {
        return refuseBody(connection, {
          message: `the delivery holds invalid records: ${checked.errors
            .slice(0, 5)
            .map((e) => `${e.path}: ${e.message}`)
            .join('; ')}`,
          errors: checked.errors,
        });
      }

      const runId = await deps.runs.start('WEBHOOK', connectionId);
      try {
        // A public endpoint's records stand alone, and its answer must not depend on what is stored (see webhook.public).
        const isPublic = plugin.manifest.publicWebhook;
        const counts = await commitBatch(deps.targets, batch, scope.source, isPublic ? 'PER_ROW' : 'ATOMIC', scope);
        await deps.runs.addCounts(runId, counts);
        if (isPublic) {
          await deps.runs.finish(runId, 'SUCCEEDED');
          if (counts.rejected > 0)
            log.info(
              { runId, rejected: counts.rejected, codes: [...new Set(counts.errors.map((e) => e.code))] },
              'public webhook: records refused (see the run)',
            );
          return sendJson(res, 200, { received: counts.received });
        }
        if (!counts.committed) {
          await deps.runs.finish(runId, 'FAILED', 'rejected: the delivery holds invalid records');
          return sendJson(res, 400, {
            code: ErrorCode.WEBHOOK_PAYLOAD_INVALID,
            message: `the delivery holds invalid records: ${counts.errors
              .slice(0, 5)
              .map((e) => `${e.path}: ${e.message}`)
              .join('; ')}`,
            errors: counts.errors,
            runId,
          });
        }
        await deps.runs.finish(runId, 'SUCCEEDED');
        return sendJson(res, 200, { accepted: counts.accepted, duplicates: counts.duplicates, rejected: counts.rejected, runId });
      } catch (error) {
        await deps.runs.finish(runId, 'FAILED', error instanceof Error ? error.message : String(error)).catch(() => undefined);
        throw error;
      }
    },
  };
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function pluginFailed(res: Parameters<HttpRoute['handle']>[1], log: Logger, error: unknown): void {
  log.error({ err: error }, 'connector webhook failed');
  // 503: the sender retries later; nothing was stored.
  if (error instanceof PluginCallError && error.kind === 'deadline') {
    return sendJson(res, 503, { code: ErrorCode.PLUGIN_TIMEOUT, message: `the connector did not answer in time; retry later` });
  }
  if (error instanceof PluginCallError && error.kind === 'crashed') {
    return sendJson(res, 503, { code: ErrorCode.PLUGIN_CRASHED, message: `the connector failed; retry later` });
  }
  sendJson(res, 503, { code: ErrorCode.CONNECTOR_UNAVAILABLE, message: `the connector failed; retry later` });
}
