import { fail } from '../../errors/catalog';

/**
 * What the matcher compares and how: the fields of each kind of customer,
 * their comparison, the blocking rules that choose which pairs are compared,
 * the thresholds, and optional hand-set weights. Stored in
 * `identity_matching.settings`; `updateIdentityMatching` merges a change into
 * them and validates the result.
 */

/** Fields of a person, read from the conventional traits and identifiers (docs/identity.md). */
export const PERSON_FIELDS = [
  'givenName',
  'familyName',
  'birthDate',
  'streetNumber',
  'street',
  'line2',
  'locality',
  'postcode',
  'region',
  'country',
  'nationalId',
  'email',
  'phone',
] as const;

/** Fields of an organisation. */
export const ORGANIZATION_FIELDS = [
  'displayName',
  'registrationNumber',
  'domain',
  'streetNumber',
  'street',
  'locality',
  'postcode',
  'country',
  'email',
  'phone',
] as const;

export type MatchField = (typeof PERSON_FIELDS)[number] | (typeof ORGANIZATION_FIELDS)[number];

/** Fields that also have a phonetic key (Double Metaphone, computed by fuzzystrmatch). */
export const PHONETIC_FIELDS: readonly MatchField[] = ['givenName', 'familyName', 'displayName', 'street', 'locality'];

export const COMPARISONS = ['exact', 'jaroWinkler', 'trigram', 'phonetic', 'date', 'numeric'] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** How one field is compared. */
export interface FieldComparison {
  field: MatchField;
  comparison: Comparison;
  /** jaroWinkler, trigram, phonetic: similarity floors of the levels below EXACT, descending, each in (0, 1). */
  thresholds?: number[];
  /** numeric: the largest difference still counted as WITHIN. */
  tolerance?: number;
}

/** Blocking key part: a field, or its phonetic key (`familyName:phonetic`). */
export type BlockingKey = string;

export interface KindSettings {
  fields: FieldComparison[];
  /** Pairs are compared when they agree on every key of at least one rule. */
  blocking: BlockingKey[][];
}

/** Hand-set match weights (log2 m/u) of one field, by level name. */
export type LevelWeights = Record<string, number>;

export interface MatchingSettings {
  person: KindSettings;
  organization: KindSettings;
  /** A pair at or above this match probability is a duplicate: the default `minScore` of the queries and clusters. */
  matchScore: number;
  /** Pairs at or above this probability are stored for review. */
  reviewScore: number;
  /** Pairs at or above this probability are merged by the worker; null: never. */
  autoMergeScore: number | null;
  /** An automatic merge never builds a cluster larger than this. */
  maxClusterSize: number;
  /** Blocking keys shared by more customers than this are skipped (their pairs are too many to be informative). */
  maxBlockSize: number;
  /** Fields that identify one person: two different values are never merged automatically. */
  uniqueFields: MatchField[];
  /** Hand-set weights by field (and optionally `prior`, the log2 odds of a match); fields left out are learned by EM. */
  weights: Record<string, LevelWeights> | null;
  /** EM iterations at most. */
  emIterations: number;
}

export const DEFAULT_SETTINGS: MatchingSettings = {
  person: {
    fields: [
      { field: 'givenName', comparison: 'phonetic', thresholds: [0.92, 0.8] },
      { field: 'familyName', comparison: 'phonetic', thresholds: [0.92, 0.8] },
      { field: 'birthDate', comparison: 'date' },
      { field: 'streetNumber', comparison: 'exact' },
      { field: 'street', comparison: 'jaroWinkler', thresholds: [0.9, 0.75] },
      { field: 'line2', comparison: 'trigram', thresholds: [0.5] },
      { field: 'locality', comparison: 'jaroWinkler', thresholds: [0.9] },
      { field: 'postcode', comparison: 'jaroWinkler', thresholds: [0.85] },
      { field: 'region', comparison: 'exact' },
      { field: 'nationalId', comparison: 'jaroWinkler', thresholds: [0.9] },
      { field: 'email', comparison: 'jaroWinkler', thresholds: [0.9] },
      { field: 'phone', comparison: 'jaroWinkler', thresholds: [0.9] },
    ],
    blocking: [
      ['nationalId'],
      ['familyName:phonetic', 'postcode'],
      ['givenName:phonetic', 'birthDate'],
      ['streetNumber', 'street:phonetic'],
      ['birthDate', 'postcode'],
      ['givenName:phonetic', 'familyName:phonetic'],
      ['familyName:phonetic', 'birthDate'],
      ['email'],
      ['phone'],
    ],
  },
  organization: {
    fields: [
      { field: 'displayName', comparison: 'trigram', thresholds: [0.7, 0.4] },
      { field: 'registrationNumber', comparison: 'exact' },
      { field: 'domain', comparison: 'exact' },
      { field: 'streetNumber', comparison: 'exact' },
      { field: 'street', comparison: 'jaroWinkler', thresholds: [0.9] },
      { field: 'locality', comparison: 'jaroWinkler', thresholds: [0.9] },
      { field: 'postcode', comparison: 'exact' },
      { field: 'country', comparison: 'exact' },
      { field: 'email', comparison: 'jaroWinkler', thresholds: [0.9] },
      { field: 'phone', comparison: 'jaroWinkler', thresholds: [0.9] },
    ],
    blocking: [['registrationNumber'], ['domain'], ['displayName:phonetic'], ['postcode', 'streetNumber'], ['email'], ['phone']],
  },
  matchScore: 0.9,
  reviewScore: 0.5,
  autoMergeScore: null,
  maxClusterSize: 10,
  maxBlockSize: 500,
  uniqueFields: ['nationalId', 'registrationNumber'],
  weights: null,
  emIterations: 50,
};

/** The level names of a comparison, best first; MISSING (either side empty, weight 0) is implicit. */
export function levelsOf(spec: FieldComparison): string[] {
  const floors = spec.thresholds ?? [];
  switch (spec.comparison) {
    case 'exact':
      return ['EXACT', 'DIFFERENT'];
    case 'jaroWinkler':
      return ['EXACT', ...floors.map((t) => `JW>=${t}`), 'DIFFERENT'];
    case 'trigram':
      return ['EXACT', ...floors.map((t) => `TRIGRAM>=${t}`), 'DIFFERENT'];
    case 'phonetic':
      return ['EXACT', `JW>=${floors[0] ?? 0.92}`, 'PHONETIC', ...floors.slice(1).map((t) => `JW>=${t}`), 'DIFFERENT'];
    case 'date':
      return ['EXACT', 'TYPO', 'DIFFERENT'];
    case 'numeric':
      return ['EXACT', 'WITHIN', 'DIFFERENT'];
  }
}

const TOP_KEYS = new Set(Object.keys(DEFAULT_SETTINGS));

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(field: string, detail: string): never {
  throw fail('MATCHING_SETTINGS_INVALID', { detail: `${field}: ${detail}` }, field);
}

function probability(value: unknown, field: string, nullable = false): number | null {
  if (value === null && nullable) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) invalid(field, 'must be a number between 0 and 1');
  return value;
}

function positiveInt(value: unknown, field: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 2 || value > max) invalid(field, `must be an integer between 2 and ${max}`);
  return value;
}

function kindSettings(value: unknown, field: string, allowed: readonly string[]): KindSettings {
  if (!isObject(value)) invalid(field, 'must be an object with fields and blocking');
  for (const key of Object.keys(value)) if (key !== 'fields' && key !== 'blocking') invalid(`${field}.${key}`, 'unknown setting');
  const fields = value.fields;
  if (!Array.isArray(fields) || fields.length === 0 || fields.length > 30) invalid(`${field}.fields`, 'must be a list of 1 to 30 field comparisons');
  const seen = new Set<string>();
  const checked = fields.map((raw, i): FieldComparison => {
    const at = `${field}.fields.${i}`;
    if (!isObject(raw)) invalid(at, 'must be an object {field, comparison}');
    for (const key of Object.keys(raw)) if (!['field', 'comparison', 'thresholds', 'tolerance'].includes(key)) invalid(`${at}.${key}`, 'unknown key');
    if (typeof raw.field !== 'string' || !allowed.includes(raw.field)) invalid(`${at}.field`, `must be one of ${allowed.join(', ')}`);
    if (seen.has(raw.field)) invalid(`${at}.field`, `${raw.field} is compared twice`);
    seen.add(raw.field);
    if (typeof raw.comparison !== 'string' || !(COMPARISONS as readonly string[]).includes(raw.comparison))
      invalid(`${at}.comparison`, `must be one of ${COMPARISONS.join(', ')}`);
    const comparison = raw.comparison as Comparison;
    if (comparison === 'phonetic' && !PHONETIC_FIELDS.includes(raw.field as MatchField))
      invalid(`${at}.comparison`, `phonetic applies to ${PHONETIC_FIELDS.join(', ')}`);
    const spec: FieldComparison = { field: raw.field as MatchField, comparison };
    if (raw.thresholds !== undefined) {
      if (!['jaroWinkler', 'trigram', 'phonetic'].includes(comparison)) invalid(`${at}.thresholds`, `${comparison} takes no thresholds`);
      const t = raw.thresholds;
      if (!Array.isArray(t) || t.length > 4 || t.some((x) => typeof x !== 'number' || !(x > 0 && x < 1)))
        invalid(`${at}.thresholds`, 'must be up to 4 numbers in (0, 1)');
      for (let k = 1; k < t.length; k++) if ((t[k] as number) >= (t[k - 1] as number)) invalid(`${at}.thresholds`, 'must be strictly descending');
      spec.thresholds = t as number[];
    }
    if (raw.tolerance !== undefined) {
      if (comparison !== 'numeric') invalid(`${at}.tolerance`, 'only numeric comparisons take a tolerance');
      if (typeof raw.tolerance !== 'number' || !Number.isFinite(raw.tolerance) || raw.tolerance < 0) invalid(`${at}.tolerance`, 'must be a number >= 0');
      spec.tolerance = raw.tolerance;
    } else if (comparison === 'numeric') spec.tolerance = 1;
    return spec;
  });
  const blocking = value.blocking;
  if (!Array.isArray(blocking) || blocking.length === 0 || blocking.length > 20) invalid(`${field}.blocking`, 'must be a list of 1 to 20 rules');
  const rules = blocking.map((rule, i): string[] => {
    const at = `${field}.blocking.${i}`;
    if (!Array.isArray(rule) || rule.length === 0 || rule.length > 4) invalid(at, 'must be a list of 1 to 4 keys');
    return rule.map((key, k) => {
      if (typeof key !== 'string') invalid(`${at}.${k}`, 'must be a field name, or a field name and ":phonetic"');
      const [name, modifier, ...rest] = key.split(':');
      if (!allowed.includes(name) || rest.length > 0 || (modifier !== undefined && modifier !== 'phonetic'))
        invalid(`${at}.${k}`, `must be one of ${allowed.join(', ')}, optionally followed by ":phonetic"`);
      if (modifier === 'phonetic' && !PHONETIC_FIELDS.includes(name as MatchField))
        invalid(`${at}.${k}`, `phonetic keys exist for ${PHONETIC_FIELDS.join(', ')}`);
      return key;
    });
  });
  return { fields: checked, blocking: rules };
}

/**
 * Validates complete settings (stored settings with a change merged in).
 * @throws RapportError MATCHING_SETTINGS_INVALID naming the setting at fault (`person.fields.2.thresholds`).
 */
export function validateSettings(value: unknown): MatchingSettings {
  if (!isObject(value)) invalid('settings', 'must be a JSON object');
  for (const key of Object.keys(value)) if (!TOP_KEYS.has(key)) invalid(key, `unknown setting; known: ${[...TOP_KEYS].join(', ')}`);
  const person = kindSettings(value.person, 'person', PERSON_FIELDS);
  const organization = kindSettings(value.organization, 'organization', ORGANIZATION_FIELDS);
  const matchScore = probability(value.matchScore, 'matchScore') ?? 0;
  const reviewScore = probability(value.reviewScore, 'reviewScore') ?? 0;
  if (reviewScore > matchScore) invalid('reviewScore', 'must not be above matchScore');
  const autoMergeScore = probability(value.autoMergeScore, 'autoMergeScore', true);
  if (autoMergeScore !== null && autoMergeScore < matchScore) invalid('autoMergeScore', 'must not be below matchScore');
  const maxClusterSize = positiveInt(value.maxClusterSize, 'maxClusterSize', 1000);
  const maxBlockSize = positiveInt(value.maxBlockSize, 'maxBlockSize', 100_000);
  const emIterations = positiveInt(value.emIterations, 'emIterations', 1000);
  const allFields = new Set<string>([...PERSON_FIELDS, ...ORGANIZATION_FIELDS]);
  if (!Array.isArray(value.uniqueFields) || value.uniqueFields.some((f) => typeof f !== 'string' || !allFields.has(f)))
    invalid('uniqueFields', `must be a list of field names (${[...allFields].join(', ')})`);
  const uniqueFields = value.uniqueFields as MatchField[];
  let weights: Record<string, LevelWeights> | null = null;
  if (value.weights !== null) {
    if (!isObject(value.weights)) invalid('weights', 'must be null or an object of fields to {level: weight}');
    weights = {};
    for (const [name, levels] of Object.entries(value.weights)) {
      const at = `weights.${name}`;
      if (name === 'prior') {
        if (typeof levels !== 'number' || !Number.isFinite(levels) || Math.abs(levels) > 60) invalid(at, 'must be a number of bits between -60 and 60');
        weights.prior = { PRIOR: levels };
        continue;
      }
      const specs = [...person.fields, ...organization.fields].filter((f) => f.field === name);
      if (specs.length === 0) invalid(at, 'names no compared field');
      if (!isObject(levels)) invalid(at, 'must be an object of level names to weights');
      const known = new Set(specs.flatMap(levelsOf));
      for (const [level, weight] of Object.entries(levels)) {
        if (!known.has(level)) invalid(`${at}.${level}`, `unknown level; levels: ${[...known].join(', ')}`);
        if (typeof weight !== 'number' || !Number.isFinite(weight) || Math.abs(weight) > 60)
          invalid(`${at}.${level}`, 'must be a number of bits between -60 and 60');
      }
      weights[name] = levels as LevelWeights;
    }
  }
  return { person, organization, matchScore, reviewScore, autoMergeScore, maxClusterSize, maxBlockSize, uniqueFields, weights, emIterations };
}

/** Stored settings with a change merged in, key by key at the top level; null resets a key to its default. */
export function mergeSettings(stored: MatchingSettings, change: unknown): MatchingSettings {
  if (!isObject(change)) invalid('settings', 'must be a JSON object');
  const merged: Record<string, unknown> = { ...stored };
  for (const [key, value] of Object.entries(change)) {
    if (!TOP_KEYS.has(key)) invalid(key, `unknown setting; known: ${[...TOP_KEYS].join(', ')}`);
    merged[key] = value === null && key !== 'autoMergeScore' && key !== 'weights' ? DEFAULT_SETTINGS[key as keyof MatchingSettings] : value;
  }
  return validateSettings(merged);
}
