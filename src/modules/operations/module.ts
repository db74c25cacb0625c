import { defineModule } from '../../infra/module';
import type { QueueBackend } from '../../infra/queue';
import * as operationsGraphql from './operations.graphql';
import { QueueAdminService } from './queue-admin.service';

/** Operations: the operators' view of the queues (counts, failed jobs, retry and removal). */
export const operationsModule = defineModule({
  name: 'operations',
  needs: ['queues'],
  provides: ['queueAdmin'],
  graphql: [operationsGraphql],
  events: { publishes: [], subscribes: [] },
  create({ queues }: { queues: QueueBackend }) {
    return { queueAdmin: new QueueAdminService(queues) };
  },
});
