/**
 * The process a pull sync runs in (forked by SyncService). It loads one plugin,
 * calls its `sync` page after page and hands every batch and cursor to the
 * host over IPC, waiting for each to be committed. Anything the plugin does —
 * block the event loop, leak, crash — stays in this process; the host kills it
 * at the time limit.
 */
import { createHttpClient, isConnectorError, validateConnectorDefinition, type ConnectorContext, type EmitResult, type IngestBatch, type JsonObject } from '../../connector-kit';
import { aliasConnectorKit } from './plugin-loader';
import type { ChildMessage, HostMessage, SyncFailure } from './sync-protocol';

const pending = new Map<number, { resolve: (result: EmitResult | undefined) => void; reject: (error: Error) => void }>();
const controller = new AbortController();
let seq = 0;

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** Sends a last message and closes the channel once it is written. */
function finish(message: ChildMessage): void {
  if (!process.send) return;
  process.send(message, undefined, {}, () => process.disconnect?.());
}

function request(message: { type: 'emit'; batch: unknown } | { type: 'checkpoint'; state: unknown; hasMore: boolean }): Promise<EmitResult | undefined> {
  const id = ++seq;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    send({ ...message, seq: id } as ChildMessage);
  });
}

function toFailure(error: unknown): SyncFailure {
  if (isConnectorError(error)) {
    const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
    return { name: error.name, code: error.code, message: error.message, retryable: error.retryable, ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}) };
  }
  return { name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error), retryable: false };
}

async function run(start: Extract<HostMessage, { type: 'start' }>): Promise<void> {
  aliasConnectorKit();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const exported = require(start.entry) as { default?: unknown };
  const definition = validateConnectorDefinition(exported && typeof exported === 'object' && 'default' in exported ? exported.default : exported);
  if (!definition.sync) throw new Error(`connector "${definition.id}" has no sync`);
  const line = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => send({ type: 'log', level, message, fields });
  const logger: ConnectorContext['logger'] = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  // The egress policy comes after the plugin's own policy, which cannot widen it.
  const http = createHttpClient({ ...definition.http, egress: start.egress ?? {}, signal: controller.signal, logger });
  const config = Object.freeze({ ...start.config });
  let state: JsonObject | undefined = start.state ?? undefined;
  let pages = 0;
  for (;;) {
    const frozen = state === undefined ? undefined : deepFreeze(structuredClone(state));
    const ctx: ConnectorContext = {
      config,
      logger,
      http,
      state: frozen,
      emit: async (batch: IngestBatch) => {
        controller.signal.throwIfAborted();
        return (await request({ type: 'emit', batch }))!;
      },
      signal: controller.signal,
      now: () => new Date(),
    };
    const result = await definition.sync(ctx, frozen);
    if (!result || typeof result !== 'object' || typeof result.nextState !== 'object' || result.nextState === null) {
      throw new Error(`connector "${definition.id}": sync must return { nextState, batch?, hasMore? } with nextState an object`);
    }
    if (result.batch) await request({ type: 'emit', batch: result.batch });
    await request({ type: 'checkpoint', state: result.nextState, hasMore: result.hasMore === true });
    pages++;
    state = result.nextState as JsonObject;
    if (result.hasMore !== true || pages >= start.maxPages) break;
  }
  finish({ type: 'done', pages });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

process.on('message', (message: HostMessage) => {
  if (message.type === 'start') {
    run(message).catch((error: unknown) => finish({ type: 'failed', error: toFailure(error) }));
  } else if (message.type === 'ack') {
    const waiter = pending.get(message.seq);
    pending.delete(message.seq);
    if (message.error) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.result);
  } else if (message.type === 'abort') {
    controller.abort(new Error(message.reason));
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
