import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { fail } from '../../errors/catalog';
import { inTransaction } from '../../infra/database';
import { auditRecords } from './audit';
import { isScope, type Scope } from './scopes';

/** An API key as listed (never with its secret). */
export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdBy: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const KEY_PATTERN = /^rk_([a-z0-9]{10})_([A-Za-z0-9_-]{32,})$/;
const LAST_USED_EVERY_MS = 60_000;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

const COLUMNS = `id::text, name, prefix, scopes, created_by AS "createdBy", created_at AS "createdAt", expires_at AS "expiresAt",
  revoked_at AS "revokedAt", last_used_at AS "lastUsedAt"`;

/**
 * API keys for tools and partners: `rk_<prefix>_<secret>`, shown once, stored as
 * a SHA-256 hash (the secret has 256 bits of entropy, so a slow hash adds
 * nothing), identified by the visible prefix, revocable, with last-used time.
 */
export class ApiKeyService {
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(private readonly dataSource: DataSource) {}

  async create(input: { name: string; scopes: string[]; expiresAt?: Date | null; createdBy?: string }): Promise<{ key: string; apiKey: ApiKeyRecord }> {
    const name = input.name.trim();
    if (name.length === 0 || name.length > 128) throw fail('VALIDATION_FAILED', { detail: 'name must have 1 to 128 characters' }, 'name');
    if (input.scopes.length === 0) throw fail('VALIDATION_FAILED', { detail: 'give at least one scope' }, 'scopes');
    input.scopes.forEach((scope, i) => {
      if (!isScope(scope)) throw fail('VALIDATION_FAILED', { detail: `unknown scope "${scope}"` }, `scopes[${i}]`);
    });
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw fail('VALIDATION_FAILED', { detail: 'expiresAt must be in the future' }, 'expiresAt');
    }
    const prefix = randomBytes(8)
      .toString('hex')
      .slice(0, 10)
      .replace(/[^a-z0-9]/g, '0');
    const key = `rk_${prefix}_${randomBytes(32).toString('base64url')}`;
    // In a transaction, so the audit entry of the mutation commits with the key (COMMITTED, naming it).
    const row: ApiKeyRecord = await inTransaction(this.dataSource, async (manager) => {
      const [created] = await manager.query(
        `INSERT INTO api_keys (name, prefix, key_hash, scopes, expires_at, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [name, prefix, hashKey(key), [...new Set(input.scopes)], input.expiresAt ?? null, input.createdBy ?? null],
      );
      auditRecords('api_key', [created.id]);
      return created;
    });
    return { key, apiKey: row };
  }

  async revoke(id: string): Promise<ApiKeyRecord> {
    return inTransaction(this.dataSource, async (manager) => {
      const [rows] = await manager.query(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
      if (!rows?.[0]) throw fail('NOT_FOUND', { detail: `no API key ${id}` }, 'id');
      auditRecords('api_key', [id]);
      return rows[0];
    });
  }

  async list(): Promise<ApiKeyRecord[]> {
    return this.dataSource.query(`SELECT ${COLUMNS} FROM api_keys ORDER BY api_keys.id`);
  }

  /** The key's record when the secret is valid, unrevoked and unexpired; otherwise undefined. */
  async verify(key: string): Promise<ApiKeyRecord | undefined> {
    const match = KEY_PATTERN.exec(key);
    if (!match) return undefined;
    const [row] = await this.dataSource.query(`SELECT ${COLUMNS}, key_hash FROM api_keys WHERE prefix = $1`, [match[1]]);
    if (!row) return undefined;
    const expected = Buffer.from(row.key_hash, 'hex');
    const actual = Buffer.from(hashKey(key), 'hex');
    if (!timingSafeEqual(expected, actual)) return undefined;
    if (row.revokedAt || (row.expiresAt && new Date(row.expiresAt).getTime() <= Date.now())) return undefined;
    this.touch(row.id);
    delete row.key_hash;
    return row;
  }

  /** last_used_at is written at most once a minute per key, off the request path. */
  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWrites.get(id) ?? 0) < LAST_USED_EVERY_MS) return;
    this.lastUsedWrites.set(id, now);
    this.dataSource.query(`UPDATE api_keys SET last_used_at = now() WHERE id = $1`, [id]).catch(() => undefined);
  }
}
