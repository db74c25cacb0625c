import { createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';

/** How bearer JWTs are verified. */
export interface JwtOptions {
  issuer: string;
  audience: string;
  /** HS256 shared secret. */
  secret?: string;
  /** RS256 public key (PEM). */
  publicKey?: string;
  /** Claim that holds the scopes: a space-separated string or an array. @defaultValue 'scope' */
  scopesClaim?: string;
  /** Allowed clock skew in seconds. @defaultValue 60 */
  clockToleranceSeconds?: number;
}

export interface VerifiedJwt {
  subject: string;
  scopes: string[];
  claims: Record<string, unknown>;
}

export class JwtError extends Error {}

function decodeSegment(segment: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // fall through
  }
  throw new JwtError('malformed token');
}

/** True when a bearer credential looks like a compact JWS (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/**
 * Verifies a compact JWS (RFC 7515/7519) with HS256 or RS256 only — the
 * algorithm must match the configured key, so `none` or an HS256 token signed
 * with an RSA public key are refused — then issuer, audience, exp and nbf.
 */
export function verifyJwt(token: string, options: JwtOptions, now = Date.now()): VerifiedJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('malformed token');
  const [headerPart, payloadPart, signaturePart] = parts;
  const header = decodeSegment(headerPart);
  const claims = decodeSegment(payloadPart);
  const signingInput = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, 'base64url');
  // Only the canonical encoding: base64url's spare bits must not let two strings carry one signature.
  if (signature.toString('base64url') !== signaturePart) throw new JwtError('malformed signature');

  if (header.alg === 'HS256' && options.secret) {
    const expected = createHmac('sha256', options.secret).update(signingInput).digest();
    if (expected.length !== signature.length || !timingSafeEqual(expected, signature)) throw new JwtError('bad signature');
  } else if (header.alg === 'RS256' && options.publicKey) {
    const key: KeyObject = createPublicKey(options.publicKey);
    if (!verify('RSA-SHA256', signingInput, key, signature)) throw new JwtError('bad signature');
  } else {
    throw new JwtError(`algorithm ${String(header.alg)} is not accepted`);
  }

  const tolerance = (options.clockToleranceSeconds ?? 60) * 1000;
  if (typeof claims.exp !== 'number' || claims.exp * 1000 + tolerance < now) throw new JwtError('token expired or without exp');
  if (typeof claims.nbf === 'number' && claims.nbf * 1000 - tolerance > now) throw new JwtError('token not yet valid');
  if (claims.iss !== options.issuer) throw new JwtError('wrong issuer');
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audience.includes(options.audience)) throw new JwtError('wrong audience');
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw new JwtError('token without sub');

  const raw = claims[options.scopesClaim ?? 'scope'];
  const scopes = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(/\s+/).filter(Boolean) : [];
  return { subject: claims.sub, scopes, claims };
}
