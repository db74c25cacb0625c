import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../../config';
import type { ApiKeyService } from './api-key.service';
import { JwtError, looksLikeJwt, verifyJwt } from './jwt';
import { isScope, SCOPES, type Principal, type Scope } from './scopes';

export type Authentication = { ok: true; principal: Principal } | { ok: false; reason: string };

/**
 * Establishes the caller from `Authorization: Bearer <credential>`: the
 * bootstrap admin key, an API key (`rk_…`), or a JWT from the configured issuer.
 */
export async function authenticate(header: string | undefined, config: Config, apiKeys: ApiKeyService): Promise<Authentication> {
  if (!header) return { ok: false, reason: 'missing credentials: send Authorization: Bearer <API key or token>' };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) return { ok: false, reason: 'the Authorization header must be "Bearer <API key or token>"' };
  const credential = match[1];

  const bootstrap = config.auth.bootstrapAdminKey;
  if (bootstrap && equalSecrets(credential, bootstrap)) {
    return { ok: true, principal: { subject: 'bootstrap', kind: 'bootstrap', scopes: new Set<Scope>(['admin']) } };
  }
  if (credential.startsWith('rk_')) {
    const key = await apiKeys.verify(credential);
    if (!key) return { ok: false, reason: 'the API key is unknown, revoked or expired' };
    return { ok: true, principal: { subject: `key:${key.prefix}`, kind: 'api_key', scopes: new Set(key.scopes) } };
  }
  if (config.auth.jwt && looksLikeJwt(credential)) {
    try {
      const token = verifyJwt(credential, config.auth.jwt);
      return { ok: true, principal: { subject: `jwt:${token.subject}`, kind: 'jwt', scopes: new Set(token.scopes.filter(isScope)) } };
    } catch (error) {
      return { ok: false, reason: `invalid token: ${error instanceof JwtError ? error.message : 'unreadable'}` };
    }
  }
  return { ok: false, reason: 'unrecognised credentials' };
}

function equalSecrets(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export { SCOPES };
