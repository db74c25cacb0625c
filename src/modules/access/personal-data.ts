/**
 * Which names in free-form JSON (customer traits, interaction properties) hold
 * personal data, and how such data is masked for callers without `pii:read`.
 *
 * Matching rule: a key is personal when its name, compared case-insensitively
 * and ignoring `_`, `-` and spaces, equals one of the configured names
 * (`RAPPORT_PERSONAL_TRAITS`, `RAPPORT_PERSONAL_PROPERTIES`), at any depth:
 * with `email` configured, `email`, `Email`, `E_mail`, `contact.email` and
 * `contacts[0].EMAIL` are all personal. A dot path (`contact.email`) is
 * personal when any of its segments is.
 */

/** What a masked value reads as. */
export const MASK = '•••';

/** Keeps the first character so lists stay scannable: `Ada Lovelace` → `A•••`. */
export function maskText(value: unknown): unknown {
  if (typeof value !== 'string' || value.length === 0) return value;
  return [...value][0] + MASK;
}

/** Deeper JSON than this is masked whole rather than walked (traits and properties are small objects). */
const MAX_WALK_DEPTH = 64;

/** The comparable form of a key or path segment. */
export function personalName(name: string): string {
  return name.toLowerCase().replace(/[\s_-]/g, '');
}

/** A set of personal names and what follows from it for paths and JSON values. */
export class PersonalNames {
  private readonly names: ReadonlySet<string>;

  constructor(names: Iterable<string>) {
    this.names = new Set([...names].map(personalName).filter(Boolean));
  }

  /** Whether this one key is personal. */
  isPersonalKey(key: string): boolean {
    return this.names.has(personalName(key));
  }

  /** Whether a dot path (`contact.email`) goes through a personal key. */
  isPersonalPath(path: string): boolean {
    return path.split('.').some((segment) => this.isPersonalKey(segment));
  }

  /** Whether a JSON value holds a personal key anywhere inside it (a filter comparing it with a stored object would test that key's value). */
  holdsPersonalKey(value: unknown, depth = 0): boolean {
    if (depth > MAX_WALK_DEPTH) return true;
    if (Array.isArray(value)) return value.some((item) => this.holdsPersonalKey(item, depth + 1));
    if (value !== null && typeof value === 'object') {
      return Object.entries(value).some(([key, item]) => this.isPersonalKey(key) || this.holdsPersonalKey(item, depth + 1));
    }
    return false;
  }

  /** A copy of a JSON value with the value of every personal key, at any depth, replaced by {@link MASK}. */
  mask(value: unknown, depth = 0): unknown {
    if (value === null || typeof value !== 'object') return value;
    if (depth > MAX_WALK_DEPTH) return MASK;
    if (Array.isArray(value)) return value.map((item) => this.mask(item, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.isPersonalKey(key) ? MASK : this.mask(item, depth + 1)]));
  }
}

/** The personal names of traits and of interaction properties, from the configuration. */
export class PersonalDataPolicy {
  readonly traits: PersonalNames;
  readonly properties: PersonalNames;

  constructor(names: { personalTraits: readonly string[]; personalProperties: readonly string[] }) {
    this.traits = new PersonalNames(names.personalTraits);
    this.properties = new PersonalNames(names.personalProperties);
  }
}
