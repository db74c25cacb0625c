export type { PrivacyService } from './privacy.service';
