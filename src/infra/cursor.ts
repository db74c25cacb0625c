import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { fail } from '../errors/catalog';

/**
 * Keyset cursors, sealed with AES-256-GCM so that a client can neither read
 * the sort values they carry (a name, when ordering by name) nor forge one.
 *
 * A cursor is `base64url(version ‖ iv ‖ tag ‖ ciphertext)`. The plaintext is
 * the JSON list of the last row's sort values, padded to a multiple of
 * {@link PAD} bytes so the length says little about them. The associated data
 * is the list's scope (which list, which ordering), so a cursor of one list or
 * ordering fails authentication on another instead of being misread.
 */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PAD = 32;
/** Longer strings are not cursors this server issues; refused before any work. */
const MAX_CURSOR_LENGTH = 2048;

/** Used when no server secret is configured: cursors then stop working when the process restarts. */
const PROCESS_KEY = randomBytes(32);
let key: Buffer = PROCESS_KEY;

/**
 * Sets the key cursors are sealed with: derived (HKDF-SHA256, its own label)
 * from the server secret, so every gateway sharing the secret accepts the
 * others' cursors; without one, a random key of this process.
 */
export function setCursorSecret(secret: Buffer | undefined): void {
  key = secret ? Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'rapport/cursor/v1', 32)) : PROCESS_KEY;
}

/** Seals the sort values of a row into an opaque cursor valid only for `scope`. */
export function encodeCursor(scope: string, values: readonly unknown[]): string {
  const json = JSON.stringify(values);
  const plain = Buffer.from(json.padEnd(Math.ceil((json.length + 1) / PAD) * PAD, ' '), 'utf8');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(scope, 'utf8'));
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

/**
 * Opens a cursor issued by {@link encodeCursor} for the same scope; anything
 * else (tampered, another key or list, malformed) is `INVALID_CURSOR` naming `field`.
 */
export function decodeCursor(scope: string, cursor: string, expected: number, field = 'after'): string[] {
  const invalid = () => fail('INVALID_CURSOR', {}, field);
  if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.length < 1 + IV_BYTES + TAG_BYTES + PAD || bytes[0] !== VERSION) throw invalid();
  let values: unknown;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(Buffer.from(scope, 'utf8'));
    decipher.setAuthTag(bytes.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([decipher.update(bytes.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    values = JSON.parse(plain);
  } catch {
    throw invalid();
  }
  // Sort values are selected as text; anything else did not come from a page of this server.
  if (!Array.isArray(values) || values.length !== expected || !values.every((v) => typeof v === 'string')) throw invalid();
  return values as string[];
}
