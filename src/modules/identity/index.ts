export { FIND_DUPLICATES_JOB, markPairsMerged, recordDuplicatePair } from './identity.service';
export type { AutoMergeCluster, AutoMergeReport, DuplicatePairRecord, IdentityService, MergeCustomers } from './identity.service';
export type { Evidence } from './fellegi-sunter';
export { DEFAULT_SETTINGS as DEFAULT_MATCHING_SETTINGS } from './settings';
export type { MatchingSettings } from './settings';
