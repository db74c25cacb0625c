import type { IncomingMessage } from 'node:http';
import { isConnectorError, type WebhookRequest } from '../../connector-kit';
import { ErrorCode } from '../../errors/catalog';
import { sendJson, type HttpRoute } from '../../graphql/server';
import type { Logger } from '../../infra/logger';
import { commitBatch, validateBatchRows, type IngestTargets } from './batch-commit';
import type { ConnectionRecord, ConnectionService } from './connection.service';
import type { ConnectorRegistry } from './connector-registry';
import type { ConnectorRunService } from './connector-run.service';
import { connectionSource } from './sync.service';
import type { WebhookRefusalReason } from './webhook-refusal.entity';
import type { WebhookRefusalService } from './webhook-refusal.service';

/** Options of {@link createWebhookRoute}. */
export interface WebhookRouteOptions {
  /** Largest body accepted; larger gets 413. */
  maxBodyBytes: number;
  /** How long a plugin's verify or parse may take before the request gets 503. @defaultValue 10_000 */
  pluginTimeoutMs?: number;
}

const PATH = /^\/hooks\/([^/]+)\/?$/;

/** Largest value of a bigint id. */
const MAX_ID = 2n ** 63n - 1n;

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
    message: 'the delivery was refused: the signature is missing, wrong or outside the replay window, or this endpoint does not accept deliveries',
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
  return /^[1-9][0-9]{0,18}$/.test(decoded) && BigInt(decoded) <= MAX_ID ? decoded : undefined;
}

/**
 * `POST /hooks/:connectionId`: the plugin verifies the request, parses it (400
 * with the reason when it cannot), the batch is validated (400 naming each bad
 * record) and committed ATOMIC through the ingest service; the answer is 200
 * only after the commit. Interactions are stored under the connection's source,
 * so a redelivery is absorbed as a duplicate. Every refusal before the body is
 * accepted gets {@link REFUSED_DELIVERY}; those of an existing connection are
 * counted (`webhook_refusals`) and logged with their reason, never the body.
 */
export function createWebhookRoute(
  deps: { registry: ConnectorRegistry; connections: ConnectionService; runs: ConnectorRunService; refusals: WebhookRefusalService; targets: IngestTargets; logger: Logger },
  options: WebhookRouteOptions,
): HttpRoute {
  const timeoutMs = options.pluginTimeoutMs ?? 10_000;
  return {
    maxBodyBytes: options.maxBodyBytes,
    matches: (_method, path) => PATH.test(path),
    async handle(req, res, body, url) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return sendJson(res, 405, { code: ErrorCode.BAD_REQUEST, message: 'webhooks are delivered with POST' });
      }
      const refuse = async (connection: ConnectionRecord, reason: WebhookRefusalReason, fields: Record<string, unknown> = {}) => {
        deps.logger.warn({ connectionId: connection.id, connector: connection.connector, reason, ...fields }, 'webhook delivery refused');
        await deps.refusals.record(connection.id, reason);
        sendJson(res, REFUSED_DELIVERY.status, REFUSED_DELIVERY.body);
      };
      const requestedId = connectionIdOf(PATH.exec(url.pathname)![1]!);
      const connection = requestedId === undefined ? undefined : await deps.connections.get(requestedId);
      if (!connection) {
        // Nothing to count it against; anyone can send these, so they stay out of the warn log.
        deps.logger.debug({ connectionId: requestedId ?? null }, 'webhook delivery to no connection refused');
        return sendJson(res, REFUSED_DELIVERY.status, REFUSED_DELIVERY.body);
      }
      const connectionId = connection.id;
      const plugin = deps.registry.find(connection.connector);
      if (plugin?.status !== 'LOADED') return refuse(connection, 'CONNECTOR_UNAVAILABLE');
      const webhook = plugin.definition.webhook;
      if (!webhook) return refuse(connection, 'NO_WEBHOOK');
      if (connection.status === 'PAUSED') return refuse(connection, 'CONNECTION_PAUSED');

      const log = deps.logger.child({ connectionId, connector: connection.connector });
      const config = deps.connections.decryptedConfig(connection, plugin.definition);
      const rawBody = body ?? Buffer.alloc(0);
      const request: WebhookRequest = { headers: headersOf(req), body: rawBody.toString('utf8'), rawBody };

      // One outcome, counted as SIGNATURE_INVALID: verify returned anything but true, or threw.
      let verified: boolean;
      let verifyError: string | undefined;
      try {
        verified = await withDeadline(Promise.resolve().then(() => webhook.verify(request, config)), timeoutMs);
      } catch (error) {
        if (error instanceof DeadlineError) return pluginFailed(res, log, 'verify', error);
        verified = false;
        // Its code or class only: a message could quote the body.
        verifyError = isConnectorError(error) ? error.code : error instanceof Error ? error.name : typeof error;
      }
      if (verified !== true) return refuse(connection, 'SIGNATURE_INVALID', verifyError ? { verifyError } : {});

      let batch: unknown;
      try {
        batch = await withDeadline(Promise.resolve().then(() => webhook.parse(request, config)), timeoutMs);
      } catch (error) {
        if (error instanceof DeadlineError) return pluginFailed(res, log, 'parse', error);
        const reason = error instanceof Error ? error.message : String(error);
        return sendJson(res, 400, { code: ErrorCode.WEBHOOK_PAYLOAD_INVALID, message: `the body could not be parsed: ${reason}`, reason });
      }
      const checked = validateBatchRows(batch);
      if (checked.errors.length > 0) {
        return sendJson(res, 400, { code: ErrorCode.WEBHOOK_PAYLOAD_INVALID, message: `the delivery holds invalid records: ${checked.errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors: checked.errors });
      }

      const runId = await deps.runs.start('WEBHOOK', connectionId);
      try {
        // A public endpoint's records stand alone, and its answer must not depend on what is stored (see webhook.public).
        const isPublic = webhook.public === true;
        const counts = await commitBatch(deps.targets, batch, connectionSource(connectionId), isPublic ? 'PER_ROW' : 'ATOMIC');
        await deps.runs.addCounts(runId, counts);
        if (isPublic) {
          await deps.runs.finish(runId, 'SUCCEEDED');
          if (counts.rejected > 0) log.info({ runId, rejected: counts.rejected, codes: [...new Set(counts.errors.map((e) => e.code))] }, 'public webhook: records refused (see the run)');
          return sendJson(res, 200, { received: counts.received });
        }
        if (!counts.committed) {
          await deps.runs.finish(runId, 'FAILED', 'rejected: the delivery holds invalid records');
          return sendJson(res, 400, {
            code: ErrorCode.WEBHOOK_PAYLOAD_INVALID,
            message: `the delivery holds invalid records: ${counts.errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`).join('; ')}`,
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

class DeadlineError extends Error {}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DeadlineError(`did not finish within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function pluginFailed(res: Parameters<HttpRoute['handle']>[1], log: Logger, step: string, error: unknown): void {
  log.error({ err: error }, `connector webhook ${step} failed`);
  // 503: the sender retries later; nothing was stored.
  sendJson(res, 503, { code: ErrorCode.CONNECTOR_UNAVAILABLE, message: `the connector's ${step} failed; retry later` });
}
