import { createHash, createHmac, hkdfSync } from 'node:crypto';
import type { Identifier } from './identity';

/** Marks a keyed tombstone hash; legacy hashes are bare hex. */
const KEYED_PREFIX = 'hmac-sha256:';

/**
 * How an erased identifier is remembered in `identifier_tombstones`: never
 * the value, only a hash that lets a later delivery of the same identifier be
 * recognised.
 *
 * With a server key (RAPPORT_SECRET_KEY, or embedded mode's generated
 * `secret.key`) the hash is an HMAC-SHA256 under a key derived from it (HKDF,
 * so the encryption key itself is never used twice): someone holding a copy
 * of the database cannot test guessed emails or phone numbers against the
 * tombstones. Without a key (an external database and no RAPPORT_SECRET_KEY)
 * it is the unkeyed SHA-256 of `type:value`, and the process warns at start.
 *
 * Tombstones written before keyed hashing are unkeyed and cannot be rehashed
 * (the value is gone): lookups and lifts check both forms, so they keep
 * protecting the identifiers they were written for.
 */
export class TombstoneHasher {
  private readonly key: Buffer | undefined;

  constructor(secretKey: Buffer | undefined) {
    this.key = secretKey ? Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), 'rapport identifier tombstones v1', 32)) : undefined;
  }

  /** Whether new tombstones are keyed. */
  get keyed(): boolean {
    return this.key !== undefined;
  }

  /** The hash a new tombstone of `identifier` is written with. */
  hash(identifier: Identifier): string {
    if (!this.key) return legacyTombstoneHash(identifier);
    return KEYED_PREFIX + createHmac('sha256', this.key).update(`${identifier.type}:${identifier.value}`).digest('hex');
  }

  /** Every hash an existing tombstone of `identifier` may carry: the keyed one, then the legacy one. */
  candidates(identifier: Identifier): string[] {
    const legacy = legacyTombstoneHash(identifier);
    return this.key ? [this.hash(identifier), legacy] : [legacy];
  }
}

/** The unkeyed form: SHA-256 of `type:value`, hex. */
export function legacyTombstoneHash(identifier: Identifier): string {
  return createHash('sha256').update(`${identifier.type}:${identifier.value}`).digest('hex');
}
