/**
 * What a caller may do. `admin` implies every other scope. Each query field and
 * mutation declares the scope it needs in `requirements.ts`.
 */
export const SCOPES = [
  'customers:read',
  'customers:write',
  'interactions:write',
  'segments:read',
  'segments:write',
  'scores:read',
  'scores:write',
  'connectors:admin',
  'pii:read',
  'audit:read',
  'webhooks:admin',
  'alerts:read',
  'alerts:write',
  'admin',
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** Who is calling, established once per request. */
export interface Principal {
  /** Key id (`key:<prefix>`), token subject (`jwt:<sub>`) or `bootstrap`. */
  subject: string;
  kind: 'api_key' | 'jwt' | 'bootstrap';
  scopes: ReadonlySet<Scope>;
}

export function hasScope(principal: Principal | undefined, scope: Scope): boolean {
  return Boolean(principal && (principal.scopes.has('admin') || principal.scopes.has(scope)));
}
