import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { ErrorCode } from '../../errors/catalog';
import { sendJson, type HttpRoute } from '../../graphql/server';
import type { Logger } from '../../infra/logger';
import { commitBatch, validateBatchRows, type IngestTargets } from './batch-commit';
import type { ConnectionService } from './connection.service';
import type { ConnectorRegistry } from './connector-registry';
import type { ConnectorRunService } from './connector-run.service';
import { PluginCallError, type PluginHosts } from './plugin-hosts';
import { connectionSource } from './sync.service';

/** Options of {@link createWebhookRoute}. */
export interface WebhookRouteOptions {
  /** Largest body accepted; larger gets 413. */
  maxBodyBytes: number;
}

const PATH = /^\/hooks\/([^/]+)\/?$/;

/** What a plugin host answers a delivery (see WebhookOutcome); anything else is refused. */
const webhookOutcomeSchema = z.union([
  z.strictObject({ verified: z.literal(false) }),
  z.strictObject({ verified: z.literal(true), refused: z.string().transform((reason) => reason.slice(0, 2000)) }),
  z.strictObject({ verified: z.literal(true), batch: z.unknown() }),
]);

/**
 * `POST /hooks/:connectionId`: the plugin verifies the request (401 when it
 * refuses), parses it (400 with the reason when it cannot) — both in the
 * plugin's warm host, with the call deadline (503 past it) — the batch is
 * validated (400 naming each bad record) and committed ATOMIC through the ingest
 * service; the answer is 200 only after the commit. Interactions are stored under
 * the connection's source, so a redelivery is absorbed as a duplicate.
 */
export function createWebhookRoute(
  deps: { registry: ConnectorRegistry; connections: ConnectionService; runs: ConnectorRunService; targets: IngestTargets; hosts: PluginHosts; logger: Logger },
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
      const connectionId = decodeURIComponent(PATH.exec(url.pathname)![1]!);
      const connection = await deps.connections.get(connectionId);
      if (!connection) return sendJson(res, 404, { code: ErrorCode.NOT_FOUND, message: `no connection ${connectionId}` });
      const plugin = deps.registry.find(connection.connector);
      if (plugin?.status !== 'LOADED') {
        return sendJson(res, 503, { code: ErrorCode.CONNECTOR_UNAVAILABLE, message: `connector "${connection.connector}" is not available${plugin ? `: ${plugin.error}` : ''}` });
      }
      if (!plugin.manifest.webhook) return sendJson(res, 404, { code: ErrorCode.NOT_FOUND, message: `connector "${connection.connector}" does not receive webhooks` });
      if (connection.status === 'PAUSED') return sendJson(res, 503, { code: ErrorCode.CONNECTOR_UNAVAILABLE, message: `connection ${connectionId} is paused` });

      const log = deps.logger.child({ connectionId, connector: connection.connector });
      const config = deps.connections.decryptedConfig(connection, plugin.manifest);
      const runnable = { id: plugin.id, entry: plugin.entry, root: plugin.root };
      const request = { headers: headersOf(req), rawBodyBase64: (body ?? Buffer.alloc(0)).toString('base64') };

      let answer: unknown;
      try {
        answer = await deps.hosts.call(runnable, { op: 'webhook', config, request });
      } catch (error) {
        return pluginFailed(res, log, error);
      }
      const outcome = webhookOutcomeSchema.safeParse(answer);
      if (!outcome.success) return pluginFailed(res, log, new PluginCallError('crashed', 'the plugin answered a delivery with something that is not an outcome'));
      if (!outcome.data.verified) return sendJson(res, 401, { code: ErrorCode.WEBHOOK_SIGNATURE_INVALID, message: 'the request signature is missing, wrong or outside the replay window' });
      if ('refused' in outcome.data) {
        const reason = outcome.data.refused;
        return sendJson(res, 400, { code: ErrorCode.WEBHOOK_PAYLOAD_INVALID, message: `the body could not be parsed: ${reason}`, reason });
      }
      const batch = outcome.data.batch;
      const checked = validateBatchRows(batch);
      if (checked.errors.length > 0) {
        return sendJson(res, 400, { code: ErrorCode.WEBHOOK_PAYLOAD_INVALID, message: `the delivery holds invalid records: ${checked.errors.slice(0, 5).map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors: checked.errors });
      }

      const runId = await deps.runs.start('WEBHOOK', connectionId);
      try {
        const counts = await commitBatch(deps.targets, batch, connectionSource(connectionId), 'ATOMIC');
        await deps.runs.addCounts(runId, counts);
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
