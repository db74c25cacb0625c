import { withTimeout, type JobRegistry } from '../../infra/jobs';
import { QUEUES, type QueueBackend } from '../../infra/queue';
import { parseSchedule, type ScheduleSink } from './connection.service';
import type { FileImportService } from './file-import.service';
import type { SyncService } from './sync.service';

export const CONNECTION_SYNC_JOB = 'connection.sync';
export const IMPORT_FILE_JOB = 'import.file';

export interface ConnectionSyncData {
  connectionId: string;
  /** The QUEUED run `runConnection` created; scheduled runs create theirs. */
  runId?: string;
}

export interface ImportFileData {
  runId: string;
}

// A sync or import that fails is recorded on its run; the next scheduled run resumes, so BullMQ does not retry.
const ONCE = { attempts: 1 } as const;

export function registerConnectorJobs(registry: Pick<JobRegistry, 'register'>, sync: SyncService, imports: FileImportService): void {
  registry.register(QUEUES.connectors, CONNECTION_SYNC_JOB, async (job) => {
    const { connectionId, runId } = job.data as ConnectionSyncData;
    const outcome = await sync.run(connectionId, runId);
    return outcome ? { runId: outcome.runId, status: outcome.status, pages: outcome.pages } : { skipped: true };
  });
  registry.register(QUEUES.connectors, IMPORT_FILE_JOB, async (job) => {
    const { runId } = job.data as ImportFileData;
    return imports.processQueuedImport(runId);
  });
}

/** Per-connection pull schedules as BullMQ job schedulers (one per connection, cluster-wide), and on-demand runs. */
export class ConnectionScheduler implements ScheduleSink {
  constructor(private readonly queues: QueueBackend) {}

  async upsert(connectionId: string, schedule: string): Promise<void> {
    await this.queues.queue(QUEUES.connectors).upsertJobScheduler(schedulerId(connectionId), parseSchedule(schedule), {
      name: CONNECTION_SYNC_JOB,
      data: { connectionId } satisfies ConnectionSyncData,
      opts: ONCE,
    });
  }

  async remove(connectionId: string): Promise<void> {
    await this.queues.queue(QUEUES.connectors).removeJobScheduler(schedulerId(connectionId));
  }

  async enqueueSync(connectionId: string, runId: string): Promise<void> {
    await withTimeout(
      this.queues
        .queue(QUEUES.connectors)
        .add(CONNECTION_SYNC_JOB, { connectionId, runId } satisfies ConnectionSyncData, { ...ONCE, jobId: `sync-run-${runId}` }),
      5_000,
      'enqueue connection.sync',
    );
  }

  async enqueueImport(runId: string): Promise<void> {
    await withTimeout(
      this.queues.queue(QUEUES.connectors).add(IMPORT_FILE_JOB, { runId } satisfies ImportFileData, { ...ONCE, jobId: `import-run-${runId}` }),
      5_000,
      'enqueue import.file',
    );
  }
}

function schedulerId(connectionId: string): string {
  return `connection-sync-${connectionId}`;
}
