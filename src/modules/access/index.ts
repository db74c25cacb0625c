export { ApiKeyService } from './api-key.service';
export { auditRecords, recordSystemAudit } from './audit';
export { authenticate } from './authenticate';
export { MASK, PersonalDataPolicy, maskText } from './personal-data';
export { hasScope } from './scopes';
