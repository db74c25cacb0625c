/**
 * Rapport's side of plugin hosts: starting them in the sandbox, calling them
 * with a deadline, and keeping one warm host per plugin.
 *
 * Everything a host sends is untrusted: frames are size-limited, every message
 * is validated, and a host that breaks the protocol is killed. A call past its
 * deadline kills its host (SIGKILL: a plugin stuck in a synchronous loop
 * cannot be interrupted otherwise); the caller gets a PluginCallError and the
 * next call gets a fresh host.
 */
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import type { ConfigFieldDescription, EmitResult } from '@rapport/connector-kit';
import { ErrorCode } from '../../errors/catalog';
import type { Logger } from '../../infra/logger';
import { FrameReader, encodeFrame, type CallRequest, type PluginManifest, type ToHost, type WireError } from '../../plugin-host/protocol';
import { hostLaunch, SandboxError, type PluginLocation, type SandboxOptions } from './plugin-sandbox';

/** The largest message Rapport accepts from a host; a host that sends more is killed. */
export const MAX_HOST_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Log lines of plugin code (`ctx.logger`) written per host and second; more are dropped and counted. */
const MAX_LOG_LINES_PER_SECOND = 200;

/** Why a call to a plugin failed. */
export type PluginFailureKind =
  /** The call passed its deadline; the host was killed. */
  | 'deadline'
  /** The host ended (crash, out of memory, killed), or broke the protocol. */
  | 'crashed'
  /** The plugin could not be loaded or sandboxed. */
  | 'unavailable'
  /** The plugin threw; `wire` says what. */
  | 'plugin';

/** A failed call to a plugin host. */
export class PluginCallError extends Error {
  override readonly name = 'PluginCallError';
  constructor(
    readonly kind: PluginFailureKind,
    message: string,
    readonly wire?: WireError,
  ) {
    super(message);
  }
}

/** A sync's request to Rapport, validated. */
export type HostRequest = { op: 'emit'; batch: unknown } | { op: 'checkpoint'; state: unknown; hasMore: boolean };

/** A log line of plugin code, validated. */
export interface HostLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

/** A plugin a host can be started for. */
export interface RunnablePlugin {
  id: string;
  entry: string;
  root: string;
}

const SLUG = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const text = (max: number) => z.string().transform((value) => value.slice(0, max));
const configFieldSchema: z.ZodType<ConfigFieldDescription> = z.lazy(() =>
  z.strictObject({
    name: z.string().max(200),
    type: z.enum(['string', 'number', 'integer', 'boolean', 'enum', 'array', 'object', 'unknown']),
    format: z.string().max(100).optional(),
    required: z.boolean(),
    secret: z.boolean(),
    endpoint: z.literal(true).optional(),
    nullable: z.boolean(),
    description: z.string().max(4000).optional(),
    default: z.json().optional(),
    values: z.array(z.json()).max(1000).optional(),
    items: configFieldSchema.optional(),
    fields: z.array(configFieldSchema).max(500).optional(),
  }),
);
const manifestSchema = z.strictObject({
  id: z.string().max(64).regex(SLUG),
  version: z.string().min(1).max(100),
  displayName: z.string().min(1).max(500),
  description: z.string().min(1).max(4000),
  configFields: z.array(configFieldSchema).max(500),
  secretKeys: z.array(z.string().min(1).max(500)).max(500),
  endpointKeys: z.array(z.string().min(1).max(500)).max(500),
  webhook: z.boolean(),
  publicWebhook: z.boolean(),
  sync: z.boolean(),
  check: z.boolean(),
});
const wireErrorSchema = z.object({
  name: text(200),
  code: z.string().max(100).optional(),
  message: text(4000),
  retryable: z.boolean(),
  retryAfterMs: z.number().nonnegative().finite().optional(),
  field: z.string().max(500).optional(),
});
const id = z.number().int().nonnegative();
const fromHostSchema = z.union([
  z.object({ type: z.literal('loaded'), manifest: manifestSchema }),
  z.object({ type: z.literal('load-failed'), code: z.string().max(100), message: text(4000), connectorId: z.string().max(200).optional() }),
  z.discriminatedUnion('ok', [
    z.object({ type: z.literal('result'), id, ok: z.literal(true), value: z.unknown() }),
    z.object({ type: z.literal('result'), id, ok: z.literal(false), error: wireErrorSchema }),
  ]),
  z.discriminatedUnion('op', [
    z.object({ type: z.literal('request'), id, call: id, op: z.literal('emit'), batch: z.unknown() }),
    z.object({ type: z.literal('request'), id, call: id, op: z.literal('checkpoint'), state: z.unknown(), hasMore: z.boolean() }),
  ]),
  z.object({
    type: z.literal('log'),
    call: id.optional(),
    level: z.enum(['debug', 'info', 'warn', 'error']),
    message: text(2000),
    fields: z.record(z.string(), z.unknown()).optional(),
  }),
]);
type FromHostMessage = z.output<typeof fromHostSchema>;

/** Why a host process ended, from its exit and the end of its stderr. */
function endReason(code: number | null, signal: NodeJS.Signals | null, stderr: string, maxHeapMb: number): string {
  if (/heap out of memory|Reached heap limit|Allocation failed/i.test(stderr)) return `the plugin host ran out of memory (heap limit ${maxHeapMb} MB)`;
  return `the plugin host exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})`;
}

/**
 * Loads a plugin once in a sandboxed host (synchronously: the registry is
 * built at startup) and returns its manifest, or why it cannot be used: it
 * threw or failed validation, hung past `timeoutMs`, or ended the process.
 */
export function describePlugin(
  plugin: PluginLocation,
  sandbox: SandboxOptions,
  timeoutMs: number,
): { ok: true; manifest: PluginManifest } | { ok: false; code: string; error: string; connectorId?: string } {
  let launch: ReturnType<typeof hostLaunch>;
  try {
    launch = hostLaunch(plugin, sandbox, 'describe');
  } catch (error) {
    return { ok: false, code: ErrorCode.CONNECTOR_LOAD_FAILED, error: error instanceof Error ? error.message : String(error) };
  }
  const child = spawnSync(launch.command, launch.args, {
    input: launch.init,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    cwd: launch.cwd,
    env: launch.env,
    ...(launch.uid !== undefined ? { uid: launch.uid, gid: launch.gid } : {}),
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: MAX_HOST_MESSAGE_BYTES + 1024 * 1024,
  });
  const messages: unknown[] = [];
  const channel = child.output?.[3] as Buffer | null | undefined;
  if (channel)
    new FrameReader(
      (message) => messages.push(message),
      MAX_HOST_MESSAGE_BYTES,
      () => undefined,
    ).push(channel);
  const first = fromHostSchema.safeParse(messages[0]);
  if (first.success && first.data.type === 'loaded') return { ok: true, manifest: first.data.manifest };
  if (first.success && first.data.type === 'load-failed') {
    return { ok: false, code: first.data.code, error: first.data.message, ...(first.data.connectorId ? { connectorId: first.data.connectorId } : {}) };
  }
  if (messages.length > 0 && !first.success) {
    const issue = first.error.issues[0];
    return {
      ok: false,
      code: ErrorCode.CONNECTOR_LOAD_FAILED,
      error: `the plugin's host answered something that is not a manifest (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unreadable'})`,
    };
  }
  if (child.error && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    return {
      ok: false,
      code: ErrorCode.CONNECTOR_LOAD_FAILED,
      error: `the plugin did not finish loading within ${timeoutMs} ms (it blocks or loops at load time)`,
    };
  }
  if (child.error && (child.error as NodeJS.ErrnoException).code === 'ENOBUFS') {
    return { ok: false, code: ErrorCode.CONNECTOR_LOAD_FAILED, error: 'the plugin wrote more output than a host may while loading; it was killed' };
  }
  if (child.error) return { ok: false, code: ErrorCode.CONNECTOR_LOAD_FAILED, error: `the plugin host could not start: ${child.error.message}` };
  const stderr = child.stderr?.toString('utf8').slice(-8192) ?? '';
  if (/heap out of memory|Reached heap limit/i.test(stderr)) {
    return { ok: false, code: ErrorCode.CONNECTOR_LOAD_FAILED, error: `the plugin ran out of memory while loading (heap limit ${sandbox.maxHeapMb} MB)` };
  }
  return { ok: false, code: ErrorCode.CONNECTOR_LOAD_FAILED, error: `the plugin ended the process while loading (exit ${child.status ?? child.signal})` };
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: PluginCallError): void;
  deadlineMs: number;
  timer?: NodeJS.Timeout;
  onRequest?: (request: HostRequest) => Promise<EmitResult | undefined>;
  onLog?: (log: HostLog) => void;
}

/** Options of one call. */
export interface CallOptions {
  /** The call fails and the host is killed past this. For a sync, it applies to each stretch the plugin has control (a page), not to the time Rapport spends committing. */
  deadlineMs: number;
  /** Answers a sync's emits and checkpoints. */
  onRequest?: (request: HostRequest) => Promise<EmitResult | undefined>;
  /** Receives the plugin's `ctx.logger` lines. */
  onLog?: (log: HostLog) => void;
}

/** One plugin host process. */
export class PluginHostProcess {
  /** The manifest the host answered once loaded; rejects with a PluginCallError when it could not load or start. */
  readonly ready: Promise<PluginManifest>;
  /** Resolves once the process has ended and every call was answered or failed. */
  readonly exited: Promise<void>;
  private child?: ChildProcessByStdio<Writable, Readable, Readable>;
  private reader?: FrameReader;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private ended?: PluginCallError;
  private killedFor?: PluginCallError;
  private stderrTail = '';
  private loaded = false;
  private settleReady!: { resolve: (manifest: PluginManifest) => void; reject: (error: PluginCallError) => void };
  private markExited!: () => void;

  constructor(
    readonly plugin: RunnablePlugin,
    private readonly sandbox: SandboxOptions,
    private readonly options: { loadTimeoutMs: number; logger: Logger },
  ) {
    this.ready = new Promise((resolve, reject) => (this.settleReady = { resolve, reject }));
    // A failed start is reported to whoever calls; never an unhandled rejection.
    this.ready.catch(() => undefined);
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    let launch: ReturnType<typeof hostLaunch>;
    try {
      launch = hostLaunch({ label: plugin.id, entry: plugin.entry, root: plugin.root }, sandbox, 'serve');
    } catch (error) {
      this.finish(
        new PluginCallError('unavailable', error instanceof SandboxError ? error.message : `the plugin host could not be prepared: ${String(error)}`),
      );
      return;
    }
    const child = spawn(launch.command, launch.args, {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      cwd: launch.cwd,
      env: launch.env,
      ...(launch.uid !== undefined ? { uid: launch.uid, gid: launch.gid } : {}),
    }) as unknown as ChildProcessByStdio<Writable, Readable, Readable>;
    this.child = child;
    const log = options.logger.child({ connector: plugin.id, pluginHost: child.pid });
    child.stdin.on('error', () => undefined);
    child.stdin.write(launch.init);
    const lines = (stream: Readable, isErr: boolean) =>
      stream.on('data', (chunk: Buffer) => {
        const textChunk = chunk.toString('utf8');
        if (isErr) this.stderrTail = (this.stderrTail + textChunk).slice(-8192);
        for (const line of textChunk.split('\n')) if (line.trim()) log.debug({ output: line.slice(0, 2000) }, 'plugin host output');
      });
    lines(child.stdout, false);
    lines(child.stderr, true);
    const channel = child.stdio[3] as Readable;
    const reader = (this.reader = new FrameReader(
      (message) => this.receive(message),
      MAX_HOST_MESSAGE_BYTES,
      (length) =>
        this.kill(new PluginCallError('crashed', `the plugin host sent a message of ${length} bytes (at most ${MAX_HOST_MESSAGE_BYTES}); it was killed`)),
      () => this.kill(new PluginCallError('crashed', 'the plugin host sent a malformed message; it was killed')),
    ));
    channel.on('data', (chunk: Buffer) => reader.push(chunk));
    channel.on('error', () => undefined);
    const loadTimer = setTimeout(
      () => this.kill(new PluginCallError('unavailable', `the plugin did not finish loading within ${options.loadTimeoutMs} ms`)),
      options.loadTimeoutMs,
    );
    this.ready.then(
      () => clearTimeout(loadTimer),
      () => clearTimeout(loadTimer),
    );
    child.once('error', (error) => {
      if (child.pid === undefined) this.finish(new PluginCallError('unavailable', `the plugin host could not start: ${error.message}`));
    });
    // 'close': the process ended and its pipes are drained, so every message it sent has been read.
    child.once('close', (code, signal) => {
      clearTimeout(loadTimer);
      this.finish(this.killedFor ?? new PluginCallError('crashed', endReason(code, signal, this.stderrTail, sandbox.maxHeapMb)));
    });
    // The host must not keep Rapport's process alive.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr, channel] as unknown as { unref?: () => void }[]) stream.unref?.();
  }

  /** Whether calls can still be made (it may still be loading). */
  get usable(): boolean {
    return !this.ended && !this.killedFor;
  }

  /** The process id, while it runs. */
  get pid(): number | undefined {
    return this.ended ? undefined : this.child?.pid;
  }

  /** Whether it loaded its plugin (and so served, or could have). */
  get everServed(): boolean {
    return this.loaded;
  }

  /** Calls the plugin; rejects with a PluginCallError. */
  async call(request: CallRequest, options: CallOptions): Promise<unknown> {
    await this.ready.catch((error: unknown) => {
      throw error instanceof PluginCallError ? error : new PluginCallError('unavailable', String(error));
    });
    if (this.ended) throw this.ended;
    const callId = ++this.nextId;
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, deadlineMs: options.deadlineMs, onRequest: options.onRequest, onLog: options.onLog };
      this.pending.set(callId, pending);
      this.arm(callId, pending);
      this.write({ type: 'call', id: callId, ...request } as ToHost);
    });
  }

  /** Kills the process; every call still waiting fails with `reason` at once, and nothing the host sends from now on is read. */
  kill(reason: PluginCallError = new PluginCallError('crashed', 'the plugin host was stopped')): void {
    if (this.ended || this.killedFor) return;
    this.killedFor = reason;
    this.reader?.stop();
    this.settleReady.reject(reason);
    for (const [callId, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(callId);
      pending.reject(reason);
    }
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    else this.finish(reason);
  }

  private logWindow = { start: 0, lines: 0, dropped: 0 };

  /** Whether a plugin log line may be written: at most {@link MAX_LOG_LINES_PER_SECOND} a second, so a plugin cannot flood Rapport's logs. */
  private logBudget(): boolean {
    const now = Date.now();
    const window = this.logWindow;
    if (now - window.start >= 1_000) {
      if (window.dropped > 0)
        this.options.logger.warn({ connector: this.plugin.id, dropped: window.dropped }, 'plugin log lines dropped: more than the rate allowed');
      this.logWindow = { start: now, lines: 0, dropped: 0 };
    }
    if (this.logWindow.lines >= MAX_LOG_LINES_PER_SECOND) {
      this.logWindow.dropped++;
      return false;
    }
    this.logWindow.lines++;
    return true;
  }

  private arm(callId: number, pending: Pending): void {
    clearTimeout(pending.timer);
    pending.timer = setTimeout(() => {
      this.pending.delete(callId);
      pending.reject(new PluginCallError('deadline', `the plugin did not answer within ${pending.deadlineMs} ms; its host was killed`));
      this.kill(new PluginCallError('crashed', 'the plugin host was killed: another call to it passed its deadline'));
    }, pending.deadlineMs);
  }

  private write(message: ToHost): void {
    const child = this.child;
    if (!child || this.ended || this.killedFor || !child.stdin.writable) return;
    child.stdin.write(encodeFrame(message));
  }

  private receive(raw: unknown): void {
    if (this.killedFor || this.ended) return;
    const parsed = fromHostSchema.safeParse(raw);
    if (!parsed.success) {
      this.kill(new PluginCallError('crashed', `the plugin host sent an invalid message (${parsed.error.issues[0]?.message ?? 'unknown'}); it was killed`));
      return;
    }
    const message: FromHostMessage = parsed.data;
    switch (message.type) {
      case 'loaded':
        if (message.manifest.id !== this.plugin.id) {
          this.kill(new PluginCallError('unavailable', `the plugin loaded as "${message.manifest.id}", not "${this.plugin.id}" as when it was installed`));
          return;
        }
        this.loaded = true;
        this.settleReady.resolve(message.manifest);
        return;
      case 'load-failed':
        this.kill(new PluginCallError('unavailable', `the plugin failed to load: ${message.message}`));
        return;
      case 'result': {
        const pending = this.pending.get(message.id);
        if (!pending) {
          this.kill(new PluginCallError('crashed', `the plugin host answered call ${message.id}, which it was not asked or had answered; it was killed`));
          return;
        }
        this.pending.delete(message.id);
        clearTimeout(pending.timer);
        if (message.ok) pending.resolve(message.value);
        else
          pending.reject(
            new PluginCallError('plugin', message.error.code ? `${message.error.code}: ${message.error.message}` : message.error.message, message.error),
          );
        return;
      }
      case 'request': {
        const pending = this.pending.get(message.call);
        const reply = (answer: { result?: EmitResult; error?: string }) => this.write({ type: 'reply', id: message.id, ...answer });
        if (!pending?.onRequest) {
          reply({ error: 'no call of this host accepts requests' });
          return;
        }
        // Rapport's commit does not count against the plugin's deadline.
        clearTimeout(pending.timer);
        const request: HostRequest =
          message.op === 'emit' ? { op: 'emit', batch: message.batch } : { op: 'checkpoint', state: message.state, hasMore: message.hasMore };
        pending.onRequest(request).then(
          (result) => {
            if (this.pending.get(message.call) !== pending) return;
            reply(result ? { result } : {});
            this.arm(message.call, pending);
          },
          (error: unknown) => {
            if (this.pending.get(message.call) !== pending) return;
            reply({ error: error instanceof Error ? error.message : String(error) });
            this.arm(message.call, pending);
          },
        );
        return;
      }
      case 'log': {
        if (!this.logBudget()) return;
        const line: HostLog = { level: message.level, message: message.message, ...(message.fields ? { fields: message.fields } : {}) };
        const pending = message.call !== undefined ? this.pending.get(message.call) : undefined;
        if (pending?.onLog) pending.onLog(line);
        else this.options.logger[line.level]({ connector: this.plugin.id, plugin: line.fields ?? {} }, line.message);
        return;
      }
    }
  }

  private finish(reason: PluginCallError): void {
    if (this.ended) return;
    this.ended = reason;
    this.settleReady.reject(reason);
    for (const [callId, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(callId);
      pending.reject(reason);
    }
    this.markExited();
  }
}

/** Options of {@link PluginHosts}. */
export interface PluginHostsOptions {
  sandbox: SandboxOptions;
  /** Deadline of a config validation, verify, parse or check. */
  callTimeoutMs: number;
  /** How long a host may take to start and load its plugin. */
  loadTimeoutMs: number;
  logger: Logger;
}

/**
 * The plugin hosts of this Rapport process: one warm host per plugin for short
 * calls (config validation, webhook verify and parse, check), restarted when
 * it dies or is killed, and a host of its own for each sync run.
 */
export class PluginHosts {
  private readonly warm = new Map<string, PluginHostProcess>();
  private readonly all = new Set<PluginHostProcess>();
  private readonly lastStart = new Map<string, number>();
  private stopped = false;

  constructor(readonly options: PluginHostsOptions) {}

  /** Calls a plugin through its warm host, with the call deadline (or `deadlineMs`). */
  call(plugin: RunnablePlugin, request: CallRequest, deadlineMs = this.options.callTimeoutMs): Promise<unknown> {
    if (this.stopped) return Promise.reject(new PluginCallError('unavailable', 'the plugin hosts are stopped'));
    return this.warmHost(plugin).call(request, { deadlineMs });
  }

  /** A new host for one sync run; the caller kills it when the run ends. */
  dedicated(plugin: RunnablePlugin): PluginHostProcess {
    if (this.stopped) throw new PluginCallError('unavailable', 'the plugin hosts are stopped');
    return this.track(new PluginHostProcess(plugin, this.options.sandbox, this.options));
  }

  /** Starts the warm host of a plugin now rather than on its first call. */
  warmUp(plugin: RunnablePlugin): void {
    if (!this.stopped) this.warmHost(plugin);
  }

  /** Every host process running, for operators and tests. */
  running(): { connector: string; pid: number; warm: boolean }[] {
    return [...this.all].flatMap((host) =>
      host.pid !== undefined ? [{ connector: host.plugin.id, pid: host.pid, warm: this.warm.get(host.plugin.id) === host }] : [],
    );
  }

  /** Kills every host and starts no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    const hosts = [...this.all];
    for (const host of hosts) host.kill();
    await Promise.all(hosts.map((host) => host.exited));
  }

  private warmHost(plugin: RunnablePlugin): PluginHostProcess {
    const current = this.warm.get(plugin.id);
    if (current?.usable) return current;
    const host = this.track(new PluginHostProcess(plugin, this.options.sandbox, this.options));
    this.warm.set(plugin.id, host);
    this.lastStart.set(plugin.id, Date.now());
    void host.exited.then(() => {
      if (this.warm.get(plugin.id) !== host) return;
      this.warm.delete(plugin.id);
      // A host that served is replaced at once, so the next call finds one warm; one that keeps dying is restarted at most once a second.
      if (!this.stopped && host.everServed && Date.now() - (this.lastStart.get(plugin.id) ?? 0) >= 1_000) this.warmHost(plugin);
    });
    return host;
  }

  private track(host: PluginHostProcess): PluginHostProcess {
    this.all.add(host);
    void host.exited.then(() => this.all.delete(host));
    return host;
  }
}
