import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { eventually, type TestApp } from './app';
import type { UntypedData } from './personal-data';

/** One message of a subscription: a GraphQL result. */
export interface SubscriptionResult {
  data?: UntypedData | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; field?: string; [key: string]: unknown } }[];
}

/** A live subscription in a test: its results in order, as they arrive. */
export interface TestSubscription {
  /** The next result not read yet (waits up to `timeoutMs`). */
  next(timeoutMs?: number): Promise<SubscriptionResult>;
  /** Results received and not read yet. */
  pending(): SubscriptionResult[];
  /** Resolves when the server ended the subscription. */
  ended: Promise<void>;
  close(): Promise<void>;
}

class ResultQueue {
  private readonly results: SubscriptionResult[] = [];
  private waiters: ((r: SubscriptionResult) => void)[] = [];
  push(result: SubscriptionResult) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(result);
    else this.results.push(result);
  }
  next(timeoutMs: number): Promise<SubscriptionResult> {
    const ready = this.results.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no subscription result within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (r: SubscriptionResult) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }
  pending() {
    return this.results.splice(0);
  }
}

/**
 * Subscribes over GraphQL over SSE (yoga's distinct-connections mode):
 * POST /graphql with Accept: text/event-stream, then reads `next` events.
 * An operation refused before it starts answers JSON: its errors are the first result.
 */
export async function subscribeSse(url: string, bearer: string | undefined, query: string, variables?: Record<string, unknown>): Promise<TestSubscription> {
  const queue = new ResultQueue();
  const controller = new AbortController();
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }), signal: controller.signal });
  let ended: Promise<void>;
  if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    queue.push({ ...(await response.json()), status: response.status } as SubscriptionResult);
    ended = Promise.resolve();
  } else {
    ended = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let boundary: number;
          while ((boundary = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, boundary);
            buffer = buffer.slice(boundary + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event === 'next' && data) queue.push(JSON.parse(data));
            if (event === 'complete') return;
          }
        }
      } catch {
        // Aborted by close().
      }
    })();
  }
  return {
    next: (timeoutMs = 15_000) => queue.next(timeoutMs),
    pending: () => queue.pending(),
    ended,
    async close() {
      controller.abort();
      await ended;
    },
  };
}

/** Subscribes over graphql-ws; the credential goes in the connection_init payload. */
export function subscribeWs(
  url: string,
  bearer: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): TestSubscription & { client: Client; closed: Promise<{ code: number; reason: string }> } {
  const queue = new ResultQueue();
  let closedWith!: (c: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (closedWith = resolve));
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: bearer ? { authorization: `Bearer ${bearer}` } : {},
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    on: { closed: (event) => closedWith({ code: (event as { code: number }).code, reason: String((event as { reason: unknown }).reason) }) },
  });
  let done!: () => void;
  const ended = new Promise<void>((resolve) => (done = resolve));
  const unsubscribe = client.subscribe(
    { query, variables },
    {
      next: (result) => queue.push(result as SubscriptionResult),
      error: (error) => {
        if (Array.isArray(error)) queue.push({ errors: error as SubscriptionResult['errors'] });
        done();
      },
      complete: () => done(),
    },
  );
  return {
    client,
    closed,
    next: (timeoutMs = 15_000) => queue.next(timeoutMs),
    pending: () => queue.pending(),
    ended,
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
}

/**
 * Waits until the gateway holds exactly `count` live subscriptions: each one
 * registered with the fan-out listening, so an event published from then on
 * reaches it. A client has no acknowledgement of that; publish only after.
 */
export async function subscriptionsLive(gateway: Pick<TestApp, 'runtime'>, count: number): Promise<void> {
  const hub = gateway.runtime.services.realtime;
  await eventually(async () => (hub.liveSubscriptions === count ? true : undefined), { intervalMs: 20 });
}
