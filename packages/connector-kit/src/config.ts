import type { z } from 'zod';
import { toValidationIssues, type ValidationIssue } from './issue-path';

/**
 * The schema of a connector's config: a zod object whose fields are the settings a
 * user fills in when creating a connection. Mark credentials with `secret()`.
 *
 * @example
 * ```ts
 * const config: ConnectorConfigSchema = z.object({ apiKey: secret(z.string()), subdomain: z.string() });
 * ```
 */
export type ConnectorConfigSchema = z.ZodObject<z.core.$ZodShape, z.core.$ZodObjectConfig>;

/**
 * The config type a schema produces: what `ctx.config` holds, with defaults applied and
 * secrets decrypted.
 *
 * @example
 * ```ts
 * const schema = z.object({ apiKey: secret(z.string()), pageSize: z.number().default(100) });
 * type AcmeConfig = ConfigOf<typeof schema>; // { apiKey: string; pageSize: number }
 * ```
 */
export type ConfigOf<Schema extends ConnectorConfigSchema> = z.output<Schema>;

/**
 * Outcome of {@link parseConnectorConfig}: the typed config, or issues that each name a field.
 *
 * @example
 * ```ts
 * const result: ConfigParseResult<AcmeConfig> = parseConnectorConfig(acme.config, input);
 * ```
 */
export type ConfigParseResult<Config> = { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] };

/**
 * A config problem. `field` is the dotted path of the setting at fault (`''` when the
 * config is not an object at all), so the UI and GraphQL errors can point at it.
 *
 * @example
 * ```ts
 * const issue: ConfigIssue = { field: 'subdomain', path: 'subdomain', segments: ['subdomain'], code: 'invalid_type', message: 'Invalid input: expected string, received undefined' };
 * ```
 */
export interface ConfigIssue extends ValidationIssue {
  /** The setting at fault, as a dotted path. */
  field: string;
}

/**
 * Validates a raw config (from a `createConnection` input, or decrypted from the
 * `connections` table) against a connector's schema. Unknown keys are reported as
 * issues naming the key when the schema is strict.
 *
 * @example
 * ```ts
 * const result = parseConnectorConfig(definition.config, input.config);
 * if (!result.ok) return { __typename: 'ConfigInvalid', fields: result.issues.map((issue) => ({ field: issue.field, message: issue.message })) };
 * await saveConnection(result.config);
 * ```
 */
export function parseConnectorConfig<Schema extends ConnectorConfigSchema>(schema: Schema, value: unknown): ConfigParseResult<z.output<Schema>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, config: result.data };
  return { ok: false, issues: toValidationIssues(result.error.issues).map((issue) => ({ ...issue, field: issue.path })) };
}
