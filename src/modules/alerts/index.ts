export type { AlertService } from './alert.service';
