import { builder } from '../../graphql/builder';
import { globalId, localId } from '../../graphql/ids';
import { SCOPES } from './scopes';
import type { ApiKeyRecord } from './api-key.service';
import type { AuditRow } from './audit-log.service';

export const ScopeEnum = builder.enumType('Scope', {
  description: 'What a caller may do; `admin` implies every scope.',
  values: Object.fromEntries(SCOPES.map((s) => [s.toUpperCase().replace(':', '_'), { value: s, description: `The ${s} scope.` }])) as Record<
    string,
    { value: string; description: string }
  >,
});

export const ApiKeyRef = builder.objectRef<ApiKeyRecord>('ApiKey').implement({
  description: 'An API key (its secret is shown only once, when created).',
  fields: (t) => ({
    id: t.id({ description: 'Global id.', resolve: (k) => globalId('ApiKey', k.id) }),
    name: t.exposeString('name', { description: 'What the key is for.' }),
    prefix: t.exposeString('prefix', { description: 'Visible part of the key (`rk_<prefix>_…`) that identifies it in logs and the audit log.' }),
    scopes: t.stringList({ description: 'Granted scopes.', resolve: (k) => k.scopes }),
    createdBy: t.exposeString('createdBy', { nullable: true, description: 'Who created it.' }),
    createdAt: t.field({ type: 'DateTime', description: 'Creation time.', resolve: (k) => k.createdAt }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, description: 'When it stops working.', resolve: (k) => k.expiresAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, description: 'When it was revoked.', resolve: (k) => k.revokedAt }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, description: 'Last use (updated at most once a minute).', resolve: (k) => k.lastUsedAt }),
  }),
});

const CreatedApiKeyRef = builder.objectRef<{ key: string; apiKey: ApiKeyRecord }>('CreatedApiKey').implement({
  description: 'A new API key with its secret, shown this once.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The secret: send it as `Authorization: Bearer <key>`. It cannot be shown again.' }),
    apiKey: t.field({ type: ApiKeyRef, description: 'The stored key.', resolve: (c) => c.apiKey }),
  }),
});

const AuditEntryRef = builder.objectRef<AuditRow>('AuditEntry').implement({
  description: 'Who did what, to which records, when, and the result. Personal data in variables is redacted.',
  fields: (t) => ({
    id: t.id({ description: 'Entry id.', resolve: (a) => a.id }),
    occurredAt: t.field({ type: 'DateTime', description: 'When.', resolve: (a) => a.occurredAt }),
    actor: t.exposeString('actor', { description: 'Key (`key:<prefix>`), token subject (`jwt:<sub>`) or `bootstrap`.' }),
    actorKind: t.exposeString('actorKind', {
      description: 'api_key, jwt, bootstrap, or system for a change a worker made by itself (a webhook endpoint disabled).',
    }),
    operation: t.exposeString('operation', { description: 'The mutation (or data-protection action).' }),
    variables: t.field({ type: 'JSON', description: 'Its variables with personal data redacted.', resolve: (a) => a.variables }),
    records: t.stringList({ description: 'Records touched, e.g. `customer:12`.', resolve: (a) => a.records }),
    result: t.exposeString('result', { description: 'COMMITTED (written with the change), NO_CHANGE or FAILED.' }),
    error: t.exposeString('error', { nullable: true, description: 'Error codes when it failed.' }),
  }),
});

const AuditFilterInput = builder.inputType('AuditFilter', {
  description: 'Which audit entries.',
  fields: (t) => ({
    actor: t.string({ description: 'Exactly this actor.' }),
    operation: t.string({ description: 'Exactly this operation.' }),
    from: t.field({ type: 'DateTime', description: 'At or after.' }),
    to: t.field({ type: 'DateTime', description: 'Before.' }),
  }),
});

const AuditPageRef = builder.objectRef<{ entries: AuditRow[]; endCursor: string | null; hasNextPage: boolean }>('AuditPage').implement({
  description: 'A page of audit entries, newest first.',
  fields: (t) => ({
    entries: t.field({ type: [AuditEntryRef], description: 'The entries.', resolve: (p) => p.entries }),
    endCursor: t.exposeString('endCursor', { nullable: true, description: 'Pass as `after` for the next page.' }),
    hasNextPage: t.exposeBoolean('hasNextPage', { description: 'True when older entries follow.' }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.field({ type: [ApiKeyRef], description: 'Every API key (admin).', resolve: (_r, _a, ctx) => ctx.servicesOf('access').apiKeys.list() }),
  auditLog: t.field({
    type: AuditPageRef,
    description: 'The audit log, newest first (audit:read).',
    args: {
      filter: t.arg({ type: AuditFilterInput, description: 'Which entries.' }),
      first: t.arg.int({ description: 'Page size: 50 by default, at most 500.' }),
      after: t.arg.string({ description: 'endCursor of the previous page.' }),
    },
    resolve: (_r, args, ctx) => ctx.servicesOf('access').auditLog.page(args.filter, args.first ?? 50, args.after),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKeyRef,
    description: 'Creates an API key with the given scopes (admin). The secret is returned once.',
    args: {
      name: t.arg.string({ required: true, description: 'What it is for.' }),
      scopes: t.arg.stringList({ required: true, description: 'Scopes, e.g. ["customers:read", "interactions:write"].' }),
      expiresAt: t.arg({ type: 'DateTime', description: 'When it stops working (optional).' }),
    },
    resolve: (_r, args, ctx) =>
      ctx.servicesOf('access').apiKeys.create({ name: args.name, scopes: args.scopes, expiresAt: args.expiresAt ?? null, createdBy: ctx.principal?.subject }),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description: 'Revokes an API key at once (admin).',
    args: { id: t.arg.id({ required: true, description: 'Global id of the key.' }) },
    resolve: (_r, args, ctx) => ctx.servicesOf('access').apiKeys.revoke(localId(String(args.id), 'ApiKey', 'id')),
  }),
}));
