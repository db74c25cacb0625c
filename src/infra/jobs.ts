import { DependencyTimeoutError } from './outage';
import type { JobHandler, QueueName } from './queue';

/** Job handlers by queue and job name; modules register theirs, workers dispatch through it. */
export class JobRegistry {
  private readonly handlers = new Map<QueueName, Map<string, JobHandler>>();

  register(queue: QueueName, name: string, handler: JobHandler): void {
    const forQueue = this.handlers.get(queue) ?? new Map<string, JobHandler>();
    if (forQueue.has(name)) throw new Error(`job ${queue}/${name} is registered twice`);
    forQueue.set(name, handler);
    this.handlers.set(queue, forQueue);
  }

  queues(): QueueName[] {
    return [...this.handlers.keys()];
  }

  forQueue(queue: QueueName): Map<string, JobHandler> {
    return this.handlers.get(queue) ?? new Map();
  }
}

/** Rejects after `ms` with a queue outage: enqueueing must never hold a committed write hostage. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DependencyTimeoutError('queue', `${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
