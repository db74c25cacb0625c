import type { EgressPolicy, EmitResult, JsonObject } from '../../connector-kit';

/** What the host sends the sync process; `egress` is the operator's policy for the plugin's HTTP client. */
export type HostMessage =
  | { type: 'start'; entry: string; config: Record<string, unknown>; state: JsonObject | null; maxPages: number; egress: EgressPolicy }
  | { type: 'ack'; seq: number; result?: EmitResult; error?: string }
  | { type: 'abort'; reason: string };

/** A failure reported by the sync process, with what the host needs to decide. */
export interface SyncFailure {
  name: string;
  code?: string;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
}

/** What the sync process sends the host; `emit` and `checkpoint` wait for an `ack` with the same `seq`. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'emit'; seq: number; batch: unknown }
  | { type: 'checkpoint'; seq: number; state: unknown; hasMore: boolean }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> }
  | { type: 'done'; pages: number }
  | { type: 'failed'; error: SyncFailure };
