/** The customer fields a rule's `attribute` condition can name, with their SQL and type. */

export type FieldType = 'string' | 'number' | 'datetime';

export interface AttributeField {
  /** SQL over `c` (customers) and `st` (customer_stats, joined only when needed). */
  sql: string;
  type: FieldType;
  /** Needs the customer_stats join. */
  stats?: boolean;
  description: string;
  /** Holds personal data: conditions on it need `pii:read` (see rules/personal.ts). */
  personal?: boolean;
}

export const ATTRIBUTE_FIELDS: Record<string, AttributeField> = {
  kind: { sql: 'c.kind', type: 'string', description: 'PERSON or ORGANIZATION' },
  displayName: { sql: 'c.display_name', type: 'string', description: 'display name', personal: true },
  lifecycleStage: { sql: 'c.lifecycle_stage', type: 'string', description: 'lifecycle stage' },
  owner: { sql: 'c.owner', type: 'string', description: 'relationship manager' },
  createdAt: { sql: 'c.created_at', type: 'datetime', description: 'when the customer was created' },
  updatedAt: { sql: 'c.updated_at', type: 'datetime', description: 'when the profile last changed' },
  interactionCount: { sql: 'COALESCE(st.interaction_count, 0)::float8', type: 'number', stats: true, description: 'number of interactions' },
  transactionCount: { sql: 'COALESCE(st.transaction_count, 0)::float8', type: 'number', stats: true, description: 'number of transactions' },
  transactionValue: { sql: 'COALESCE(st.transaction_value, 0)::float8', type: 'number', stats: true, description: 'total transaction value' },
  firstSeenAt: { sql: 'st.first_seen_at', type: 'datetime', stats: true, description: 'earliest interaction' },
  lastSeenAt: { sql: 'st.last_seen_at', type: 'datetime', stats: true, description: 'latest interaction' },
};

/** Operators that make sense for each field type; traits (untyped JSON) accept all of them. */
export const OPS_BY_TYPE: Record<FieldType, readonly string[]> = {
  string: ['EQ', 'NE', 'IN', 'NOT_IN', 'CONTAINS', 'STARTS_WITH', 'EXISTS'],
  number: ['EQ', 'NE', 'IN', 'NOT_IN', 'GT', 'GTE', 'LT', 'LTE', 'BETWEEN', 'EXISTS'],
  datetime: ['EQ', 'NE', 'GT', 'GTE', 'LT', 'LTE', 'BETWEEN', 'EXISTS'],
};

/** One segment of a trait or property path. */
export const PATH_SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_PATH_SEGMENTS = 8;
