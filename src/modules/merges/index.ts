export { DEFAULT_MAX_CLUSTER_SIZE, MAX_MERGED } from './merge.service';
export type { MergeRecord, MergeRequest, MergeResult, MergeService, UnmergeRequest, UnmergeResult } from './merge.service';
export { IDENTITY_POLICIES } from './identity-policy.service';
export type { IdentityPolicy, IdentityPolicyService, IdentitySettings } from './identity-policy.service';
export { SURVIVORSHIP_RULES } from './survivorship';
export type { SurvivorshipRule } from './survivorship';
