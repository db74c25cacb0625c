import type { DataSource, EntityManager } from 'typeorm';
import { fail, RapportError } from '../../errors/catalog';
import { inTransaction } from '../../infra/database';
import { publish } from '../events';
import { DEFAULT_MAX_CLUSTER_SIZE, type MergeService } from './merge.service';

/**
 * What an IDENTITY_CONFLICT on ingest (a row whose identifiers belong to
 * several customers) does, per identifier type:
 * - `REJECT`: the row is refused with IDENTITY_CONFLICT (the default);
 * - `MERGE`: the customers are merged into the first one named and the row goes to it (guard rails permitting);
 * - `FLAG`: the row goes to the first customer named, and the pair is flagged as a candidate duplicate.
 */
export const IDENTITY_POLICIES = ['REJECT', 'MERGE', 'FLAG'] as const;
export type IdentityPolicy = (typeof IDENTITY_POLICIES)[number];

export interface IdentitySettings {
  /** Policy per identifier type; types not named are REJECT. */
  policies: Record<string, IdentityPolicy>;
  /** Identifier types a person has one value of (nationalId): customers with two different values are never merged automatically. */
  uniqueTypes: string[];
  /** Most customers an automatic merge may leave behind one survivor (its earlier merges included). */
  maxClusterSize: number;
}

const TYPE = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_TYPES = 100;
const MAX_CLUSTER_CAP = 1000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks `updateIdentityPolicies`'s input: `{ policies?: {type: policy}, uniqueTypes?: [type], maxClusterSize?: n }`. */
export function parseIdentitySettings(input: unknown, current: IdentitySettings): IdentitySettings {
  if (!isObject(input)) throw fail('IDENTITY_POLICY_INVALID', { detail: 'policies must be an object' }, 'policies');
  for (const key of Object.keys(input)) {
    if (!['policies', 'uniqueTypes', 'maxClusterSize'].includes(key)) {
      throw fail('IDENTITY_POLICY_INVALID', { detail: 'expected policies, uniqueTypes and maxClusterSize' }, `policies.${key}`);
    }
  }
  const next: IdentitySettings = { ...current, policies: { ...current.policies } };
  if (input.policies !== undefined) {
    if (!isObject(input.policies)) throw fail('IDENTITY_POLICY_INVALID', { detail: 'policies maps identifier types to a policy' }, 'policies.policies');
    const entries = Object.entries(input.policies);
    if (entries.length > MAX_TYPES) throw fail('IDENTITY_POLICY_INVALID', { detail: `at most ${MAX_TYPES} identifier types` }, 'policies.policies');
    next.policies = {};
    for (const [type, policy] of entries) {
      if (!TYPE.test(type)) throw fail('IDENTITY_POLICY_INVALID', { detail: 'an identifier type is 1 to 64 letters, digits or _.:-' }, 'policies.policies');
      if (typeof policy !== 'string' || !(IDENTITY_POLICIES as readonly string[]).includes(policy)) {
        throw fail('IDENTITY_POLICY_INVALID', { detail: `a policy is one of ${IDENTITY_POLICIES.join(', ')}` }, `policies.policies.${type}`);
      }
      // Identifier types are stored lower-case (normalizeIdentifier): so are the policies' keys.
      next.policies[type.toLowerCase()] = policy as IdentityPolicy;
    }
  }
  if (input.uniqueTypes !== undefined) {
    if (!Array.isArray(input.uniqueTypes) || input.uniqueTypes.length > MAX_TYPES || !input.uniqueTypes.every((t) => typeof t === 'string' && TYPE.test(t))) {
      throw fail('IDENTITY_POLICY_INVALID', { detail: `uniqueTypes is a list of at most ${MAX_TYPES} identifier types` }, 'policies.uniqueTypes');
    }
    next.uniqueTypes = [...new Set((input.uniqueTypes as string[]).map((t) => t.toLowerCase()))];
  }
  if (input.maxClusterSize !== undefined) {
    const n = input.maxClusterSize;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n > MAX_CLUSTER_CAP) {
      throw fail('IDENTITY_POLICY_INVALID', { detail: `maxClusterSize is an integer from 2 to ${MAX_CLUSTER_CAP}` }, 'policies.maxClusterSize');
    }
    next.maxClusterSize = n;
  }
  for (const type of next.uniqueTypes) {
    if (next.policies[type] === 'MERGE') {
      throw fail('IDENTITY_POLICY_INVALID', { detail: `${type} is a unique type: a conflict on it is never merged` }, `policies.policies.${type}`);
    }
  }
  return next;
}

/** The identity policies and guard rails, and what a conflict on ingest does under them. */
export class IdentityPolicyService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly merges: MergeService,
  ) {}

  async settings(manager: EntityManager | DataSource = this.dataSource): Promise<IdentitySettings> {
    const rows: { identifier_type: string; policy: IdentityPolicy }[] = await manager.query(
      `SELECT identifier_type, policy FROM identity_policies ORDER BY identifier_type`,
    );
    const [guard]: { unique_types: string[]; max_cluster_size: number }[] = await manager.query(
      `SELECT unique_types, max_cluster_size FROM identity_settings WHERE id`,
    );
    return {
      policies: Object.fromEntries(rows.map((r) => [r.identifier_type, r.policy])),
      uniqueTypes: guard?.unique_types ?? [],
      maxClusterSize: guard?.max_cluster_size ?? DEFAULT_MAX_CLUSTER_SIZE,
    };
  }

  /** Replaces the policies (those given; `policies` omitted keeps them) and guard rails, in one transaction. */
  async update(input: unknown): Promise<IdentitySettings> {
    return inTransaction(this.dataSource, async (manager) => {
      await manager.query(`LOCK TABLE identity_policies IN SHARE ROW EXCLUSIVE MODE`);
      const next = parseIdentitySettings(input, await this.settings(manager));
      await manager.query(`DELETE FROM identity_policies`);
      const types = Object.keys(next.policies);
      await manager.query(`INSERT INTO identity_policies (identifier_type, policy) SELECT * FROM unnest($1::text[], $2::text[])`, [
        types,
        types.map((t) => next.policies[t]),
      ]);
      await manager.query(
        `INSERT INTO identity_settings (id, unique_types, max_cluster_size) VALUES (true, $1, $2)
         ON CONFLICT (id) DO UPDATE SET unique_types = EXCLUDED.unique_types, max_cluster_size = EXCLUDED.max_cluster_size, updated_at = now()`,
        [next.uniqueTypes, next.maxClusterSize],
      );
      return next;
    });
  }

  /**
   * An ingest conflict under MERGE or FLAG, in the ingest's transaction
   * (the `identity.conflicted` subscriber): MERGE merges the customers into
   * the survivor unless a guard rail stops it, in which case, as under FLAG,
   * each pair (survivor, other) is published as `identity.conflict_flagged`
   * for the matching module to record as a candidate duplicate.
   */
  async onConflict(
    manager: EntityManager,
    conflict: { policy: 'MERGE' | 'FLAG'; survivorId: string; customerIds: string[]; identifierTypes: string[] },
  ): Promise<void> {
    const others = conflict.customerIds.filter((id) => id !== conflict.survivorId);
    if (others.length === 0) return;
    if (conflict.policy === 'MERGE') {
      // A savepoint: a guard rail refusing the merge must leave the ingest's transaction usable.
      await manager.query('SAVEPOINT identity_merge');
      try {
        await this.merges.mergeCustomers(manager, {
          survivorId: conflict.survivorId,
          mergedIds: others,
          actor: 'identity-policy',
          reason: `IDENTITY_CONFLICT on ingest (${conflict.identifierTypes.join(', ')}): policy MERGE`,
          automatic: true,
        });
        await manager.query('RELEASE SAVEPOINT identity_merge');
        return;
      } catch (error) {
        await manager.query('ROLLBACK TO SAVEPOINT identity_merge');
        // A guard rail, or customers that cannot be merged (a person and an organisation): flagged for a person to decide.
        if (!(error instanceof RapportError && (error.code === 'MERGE_GUARD_RAIL' || error.code === 'MERGE_INVALID'))) throw error;
      }
    }
    await publish(
      manager,
      'identity.conflict_flagged',
      others.map((other) => ({
        customerId: conflict.survivorId,
        payload: { customerIds: [conflict.survivorId, other], identifierType: conflict.identifierTypes.join(',') },
      })),
    );
  }
}
