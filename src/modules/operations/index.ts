export type { QueueAdminService } from './queue-admin.service';
