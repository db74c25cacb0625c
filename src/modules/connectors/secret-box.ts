import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { secretKeyBytes, type Config } from '../../config';
import { fail } from '../../errors/catalog';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The file embedded mode keeps its generated key in, under the data directory. */
export const SECRET_KEY_FILE = 'secret.key';

/**
 * Encrypts connector secrets at rest with AES-256-GCM: each value gets a fresh
 * 96-bit IV and is stored as `enc:v1:<base64(iv ‖ tag ‖ ciphertext)>`, so a
 * changed byte fails authentication instead of decrypting to garbage.
 */
export class SecretBox {
  constructor(private readonly key: Buffer | undefined) {}

  /** Whether a key is configured. */
  get ready(): boolean {
    return this.key !== undefined;
  }

  encrypt(value: unknown): string {
    const key = this.requireKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
  }

  decrypt(envelope: string): unknown {
    const key = this.requireKey();
    if (!SecretBox.isEnvelope(envelope)) throw new Error('not an encrypted value');
    const bytes = Buffer.from(envelope.slice(PREFIX.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    return JSON.parse(plain) as unknown;
  }

  static isEnvelope(value: unknown): value is string {
    return typeof value === 'string' && value.startsWith(PREFIX);
  }

  /** Copies `config` with the values at `paths` (dotted) encrypted. */
  encryptPaths(config: Record<string, unknown>, paths: string[]): Record<string, unknown> {
    return mapPaths(config, paths, (value) => this.encrypt(value));
  }

  /** Copies `config` with the envelopes at `paths` decrypted. */
  decryptPaths(config: Record<string, unknown>, paths: string[]): Record<string, unknown> {
    return mapPaths(config, paths, (value) => (SecretBox.isEnvelope(value) ? this.decrypt(value) : value));
  }

  private requireKey(): Buffer {
    if (!this.key) {
      throw fail(
        'BAD_REQUEST',
        { detail: 'connector secrets need an encryption key: set RAPPORT_SECRET_KEY to 32 bytes, base64 or hex encoded (openssl rand -base64 32)' },
        'config',
      );
    }
    return this.key;
  }
}

function mapPaths(config: Record<string, unknown>, paths: string[], map: (value: unknown) => unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = structuredClone(config);
  for (const dotted of paths) {
    const segments = dotted.split('.');
    let parent: Record<string, unknown> | undefined = copy;
    for (const segment of segments.slice(0, -1)) {
      const next: unknown = parent?.[segment];
      parent = typeof next === 'object' && next !== null && !Array.isArray(next) ? (next as Record<string, unknown>) : undefined;
    }
    const leaf = segments[segments.length - 1];
    if (parent && parent[leaf] !== undefined && parent[leaf] !== null) parent[leaf] = map(parent[leaf]);
  }
  return copy;
}

/**
 * The key connector secrets are encrypted with: `RAPPORT_SECRET_KEY` when set; in
 * embedded mode (no `DATABASE_URL`) a key generated on first use and kept in
 * `<dataDir>/secret.key` (mode 0600); otherwise none, and creating a connection
 * with secrets fails with a message saying to set the variable.
 */
export function resolveSecretKey(config: Pick<Config, 'secretKey' | 'databaseUrl' | 'dataDir'>): Buffer | undefined {
  if (config.secretKey) return config.secretKey;
  if (config.databaseUrl) return undefined;
  return loadOrCreateKeyFile(config.dataDir);
}

/** Reads `<dataDir>/secret.key`, creating it (32 random bytes, base64, mode 0600) when missing. */
export function loadOrCreateKeyFile(dataDir: string): Buffer {
  const file = path.join(dataDir, SECRET_KEY_FILE);
  try {
    const key = secretKeyBytes(readFileSync(file, 'utf8').trim());
    if (!key) throw new Error(`${file} does not hold a 32-byte base64 or hex key`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  try {
    // 'wx' fails if another process created it first; then use theirs.
    writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return loadOrCreateKeyFile(dataDir);
  }
}
