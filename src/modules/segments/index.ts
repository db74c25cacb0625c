export { CONSENT_STATUSES } from './rules/rule';
export { MembershipEventRef as SegmentMembershipEventRef, requireMembershipAccess, SegmentRef } from './segment.graphql';
export { segmentLoaders } from './segment-loaders';
export type { MembershipEventRecord, SegmentRecord } from './segment.service';
export type { SegmentService } from './segment.service';
