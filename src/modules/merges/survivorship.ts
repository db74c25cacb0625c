import { fail } from '../../errors/catalog';

/**
 * How a merge picks each trait (and profile field) of the survivor from the
 * merged customers' values:
 * - `MOST_RECENT`: the value of the most recently updated customer that has one (the default);
 * - `MOST_FREQUENT`: the value most customers hold (ties: the most recent of those);
 * - `MOST_TRUSTED_SOURCE`: the value of the customer whose best source ranks highest in `trust`
 *   (a customer's sources are those of its interactions; ties and unranked: the most recent);
 * - `NEVER_OVERWRITE`: the survivor's value when it has one, else the most recent.
 */
export const SURVIVORSHIP_RULES = ['MOST_RECENT', 'MOST_FREQUENT', 'MOST_TRUSTED_SOURCE', 'NEVER_OVERWRITE'] as const;
export type SurvivorshipRule = (typeof SURVIVORSHIP_RULES)[number];

/** The profile fields a merge combines besides traits. */
export const PROFILE_FIELDS = ['displayName', 'lifecycleStage', 'owner', 'organizationId'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export interface Survivorship {
  default: SurvivorshipRule;
  traits: Record<string, SurvivorshipRule>;
  fields: Partial<Record<ProfileField, SurvivorshipRule>>;
  /** Sources, most trusted first (`MOST_TRUSTED_SOURCE`). */
  trust: string[];
}

const KEYS = new Set(['default', 'traits', 'fields', 'trust']);
const MAX_ENTRIES = 200;
const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rule(value: unknown, field: string): SurvivorshipRule {
  if (typeof value === 'string' && (SURVIVORSHIP_RULES as readonly string[]).includes(value)) return value as SurvivorshipRule;
  throw fail('SURVIVORSHIP_INVALID', { detail: `a survivorship rule is one of ${SURVIVORSHIP_RULES.join(', ')}` }, field);
}

/** Checks the `survivorship` argument of a merge: null or `{ default?, traits?, fields?, trust? }`. */
export function parseSurvivorship(input: unknown): Survivorship {
  const parsed: Survivorship = { default: 'MOST_RECENT', traits: {}, fields: {}, trust: [] };
  if (input === null || input === undefined) return parsed;
  if (!isObject(input)) throw fail('SURVIVORSHIP_INVALID', { detail: 'survivorship must be an object' }, 'survivorship');
  for (const key of Object.keys(input)) {
    if (!KEYS.has(key)) throw fail('SURVIVORSHIP_INVALID', { detail: `unknown survivorship key; expected ${[...KEYS].join(', ')}` }, `survivorship.${key}`);
  }
  if (input.default !== undefined) parsed.default = rule(input.default, 'survivorship.default');
  if (input.traits !== undefined) {
    if (!isObject(input.traits)) throw fail('SURVIVORSHIP_INVALID', { detail: 'traits must map trait names to rules' }, 'survivorship.traits');
    const entries = Object.entries(input.traits);
    if (entries.length > MAX_ENTRIES) throw fail('SURVIVORSHIP_INVALID', { detail: `at most ${MAX_ENTRIES} traits` }, 'survivorship.traits');
    for (const [name, value] of entries) {
      if (!NAME.test(name)) throw fail('SURVIVORSHIP_INVALID', { detail: 'a trait name is 1 to 128 letters, digits or _.:-' }, 'survivorship.traits');
      parsed.traits[name] = rule(value, `survivorship.traits.${name}`);
    }
  }
  if (input.fields !== undefined) {
    if (!isObject(input.fields)) throw fail('SURVIVORSHIP_INVALID', { detail: 'fields must map profile fields to rules' }, 'survivorship.fields');
    for (const [name, value] of Object.entries(input.fields)) {
      if (!(PROFILE_FIELDS as readonly string[]).includes(name)) {
        throw fail('SURVIVORSHIP_INVALID', { detail: `a profile field is one of ${PROFILE_FIELDS.join(', ')}` }, 'survivorship.fields');
      }
      parsed.fields[name as ProfileField] = rule(value, `survivorship.fields.${name}`);
    }
  }
  if (input.trust !== undefined) {
    if (
      !Array.isArray(input.trust) ||
      input.trust.length > MAX_ENTRIES ||
      !input.trust.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 128)
    ) {
      throw fail('SURVIVORSHIP_INVALID', { detail: `trust is a list of at most ${MAX_ENTRIES} source names, most trusted first` }, 'survivorship.trust');
    }
    parsed.trust = input.trust as string[];
  }
  return parsed;
}

/** One customer's candidate value for a trait or field. */
export interface Candidate {
  customerId: string;
  isSurvivor: boolean;
  updatedAt: Date;
  /** The customer's sources (its interactions'), for `MOST_TRUSTED_SOURCE`. */
  sources: readonly string[];
  value: unknown;
}

function mostRecent(candidates: Candidate[]): Candidate {
  // Latest update first; the survivor wins a tie, then the lower id (a stable answer).
  return [...candidates].sort(
    (a, b) => b.updatedAt.getTime() - a.updatedAt.getTime() || Number(b.isSurvivor) - Number(a.isSurvivor) || Number(a.customerId) - Number(b.customerId),
  )[0];
}

/**
 * The value a rule picks among candidates that hold one (null and absent
 * values are not candidates: a merge never replaces a value by nothing).
 * Returns undefined when no customer has a value.
 */
export function pick(rule: SurvivorshipRule, candidates: Candidate[], trust: readonly string[]): unknown {
  const held = candidates.filter((c) => c.value !== null && c.value !== undefined);
  if (held.length === 0) return undefined;
  switch (rule) {
    case 'NEVER_OVERWRITE':
      return (held.find((c) => c.isSurvivor) ?? mostRecent(held)).value;
    case 'MOST_FREQUENT': {
      const counts = new Map<string, Candidate[]>();
      for (const c of held) {
        const key = JSON.stringify(c.value);
        counts.set(key, [...(counts.get(key) ?? []), c]);
      }
      const top = Math.max(...[...counts.values()].map((g) => g.length));
      return mostRecent([...counts.values()].filter((g) => g.length === top).flat()).value;
    }
    case 'MOST_TRUSTED_SOURCE': {
      const rank = (c: Candidate) => Math.min(...c.sources.map((s) => (trust.includes(s) ? trust.indexOf(s) : Infinity)), Infinity);
      const best = Math.min(...held.map(rank));
      return mostRecent(held.filter((c) => rank(c) === best)).value;
    }
    case 'MOST_RECENT':
      return mostRecent(held).value;
  }
}
