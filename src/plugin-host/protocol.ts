/**
 * The messages between Rapport and a plugin host process, and their framing.
 *
 * A plugin host is the only process that runs a plugin's code. Rapport writes
 * to the host's stdin; the host answers on file descriptor 3. Each message is a
 * frame: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
 * Rapport treats everything it reads from a host as untrusted: it bounds the
 * frame size and validates every message before acting on it.
 *
 * This folder is readable by plugin hosts (see plugin-sandbox.ts): it imports
 * nothing from Rapport beyond the connector kit, and only types from there.
 */
import type { ConfigFieldDescription, EmitResult, HttpClientOptions, JsonObject } from '@rapport/connector-kit';

/** Options Rapport adds to every plugin's `ctx.http` (serialisable: they cross the process boundary). */
export type HostHttpOptions = Omit<HttpClientOptions, 'fetch' | 'now' | 'sleep' | 'random' | 'signal' | 'logger' | 'baseUrl' | 'headers'>;

/** The first message a host receives: what to load, and how. */
export interface HostInit {
  type: 'init';
  /** `describe`: load, answer the manifest, exit. `serve`: load, answer the manifest, then serve calls. */
  mode: 'describe' | 'serve';
  /** The plugin's entry file. */
  entry: string;
  /** The connector kit's entry file: `@rapport/connector-kit` resolves to it. */
  kit: string;
  /** TypeScript sources the host may load, compiled by Rapport to CommonJS: absolute path → code. */
  files: Record<string, string>;
  /** Added to the options of every `ctx.http` the host builds. */
  http: HostHttpOptions;
}

/** What Rapport needs to know of a plugin without running its code: all plain JSON. */
export interface PluginManifest {
  id: string;
  version: string;
  displayName: string;
  description: string;
  /** The config fields, as the `connectors` query shows them. */
  configFields: ConfigFieldDescription[];
  /** Config fields marked secret (dotted paths): encrypted at rest, never returned. */
  secretKeys: string[];
  /** Config fields that say where the connection sends its credentials (dotted paths): changing one requires the secrets again. */
  endpointKeys: string[];
  webhook: boolean;
  /** The webhook is public (`webhook.public`): called by anyone, so its answer never depends on what is stored. */
  publicWebhook: boolean;
  sync: boolean;
  check: boolean;
}

/** A webhook request on the wire: the raw body as base64, so every byte arrives as sent. */
export interface WireWebhookRequest {
  headers: Record<string, string>;
  rawBodyBase64: string;
}

/** An error thrown by plugin code (or by the host on its behalf), as Rapport receives it. */
export interface WireError {
  name: string;
  /** A kit error's code (`CONNECTOR_RATE_LIMITED`…), or `CONNECTOR_CONFIG_INVALID` when the stored config fails the plugin's schema. */
  code?: string;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
  /** The config field at fault (`config.<path>`), for `CONNECTOR_CONFIG_INVALID`. */
  field?: string;
}

/** A delivery's outcome in the host: refused by verify (with the code or class of what it threw, never its message), refused by parse, or a batch. */
export type WebhookOutcome =
  | { verified: false; verifyError?: string }
  | { verified: true; batch: unknown }
  | { verified: true; refused: string }
  | { verified: true; invalid: WebhookOutcomeProblem };

/** A record of a parsed batch holding text Postgres cannot store, or nested too deep to travel (checked in the host). */
export interface WebhookOutcomeProblem {
  path: string;
  code: 'INVALID_TEXT' | 'INPUT_TOO_COMPLEX';
  message: string;
}

/** One issue of a config the plugin's schema refused. */
export interface WireConfigIssue {
  /** Dotted path of the field (`''` for the whole config). */
  field: string;
  message: string;
}

/** What a call asks of the plugin. */
export type CallRequest =
  | { op: 'config'; config: unknown }
  /** A webhook delivery: `verify`, then `parse` when it verified, in one round trip. */
  | { op: 'webhook'; config: unknown; request: WireWebhookRequest }
  | { op: 'check'; config: unknown }
  | { op: 'sync'; config: unknown; state: JsonObject | null; maxPages: number };

/** What Rapport sends a host after the init message. */
export type ToHost =
  | ({ type: 'call'; id: number } & CallRequest)
  /** The answer to a host's `request` (an emit or a checkpoint of a sync). */
  | { type: 'reply'; id: number; result?: EmitResult; error?: string };

/** What a host sends Rapport. */
export type FromHost =
  | { type: 'loaded'; manifest: PluginManifest }
  | { type: 'load-failed'; code: string; message: string; connectorId?: string }
  /** A call's outcome. `config` answers `{ ok, config }` or `{ ok: false, issues }`; `webhook` a {@link WebhookOutcome}; `sync` `{ pages }`. */
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: WireError }
  /** A sync asks Rapport to commit a batch, or to save a cursor after everything before it; answered by a `reply` with the same id. */
  | { type: 'request'; id: number; call: number; op: 'emit'; batch: unknown }
  | { type: 'request'; id: number; call: number; op: 'checkpoint'; state: unknown; hasMore: boolean }
  | { type: 'log'; call?: number; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> };

/** Encodes one message as a frame. */
export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/**
 * Splits a byte stream into frames and parses each. A frame longer than
 * `maxBytes` is refused before it is buffered: `onOversize` is called and the
 * reader stops.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private stopped = false;

  constructor(
    private readonly onMessage: (message: unknown) => void,
    private readonly maxBytes: number,
    private readonly onOversize: (length: number) => void,
    private readonly onMalformed: (error: Error) => void = () => undefined,
  ) {}

  push(chunk: Buffer): void {
    if (this.stopped) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 4) return;
      if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const length = this.chunks[0].readUInt32BE(0);
      if (length > this.maxBytes) {
        this.stopped = true;
        this.chunks = [];
        this.buffered = 0;
        this.onOversize(length);
        return;
      }
      // Joined only once the whole frame is here: a large frame arriving in many chunks is copied once.
      if (this.buffered < 4 + length) return;
      const head = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      const body = head.subarray(4, 4 + length);
      const rest = head.subarray(4 + length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      let message: unknown;
      try {
        message = JSON.parse(body.toString('utf8'));
      } catch (error) {
        this.stopped = true;
        this.onMalformed(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      this.onMessage(message);
      if (this.stopped) return;
    }
  }

  stop(): void {
    this.stopped = true;
    this.chunks = [];
    this.buffered = 0;
  }
}
