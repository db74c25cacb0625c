import { z } from 'zod';
import type { ConnectorConfigSchema } from './config';
import { isJsonValue, type JsonValue } from './json';

/**
 * Marks a config field as a secret: the host encrypts it at rest, never returns it
 * from the API, and redacts it from logs. The mark is zod metadata (`writeOnly: true`,
 * the JSON Schema keyword for "accepted, never returned"), so it survives `.describe()`,
 * `.meta()` and added checks, and shows up in `z.toJSONSchema(config)`.
 *
 * Call `secret()` on the field's own schema, then wrap it: `secret(z.string()).optional()`.
 *
 * @example
 * ```ts
 * const config = z.object({
 *   apiKey: secret(z.string().min(20)).describe('API key from Acme → Settings → API'),
 *   signingSecret: secret(z.string()).optional(),
 *   subdomain: z.string(),
 * });
 * ```
 */
export function secret<Schema extends z.ZodType>(schema: Schema): Schema {
  return schema.meta({ writeOnly: true });
}

/**
 * Whether a field schema was marked with {@link secret}, looking through `optional`,
 * `nullable`, `default` and similar wrappers.
 *
 * @example
 * ```ts
 * isSecret(secret(z.string()).optional()); // true
 * isSecret(z.string()); // false
 * ```
 */
export function isSecret(schema: z.core.$ZodType): boolean {
  return unwrapChain(schema).some((layer) => z.globalRegistry.get(layer)?.writeOnly === true);
}

/**
 * Lists the config fields marked with {@link secret}, as dotted paths (`apiKey`,
 * `oauth.clientSecret` for a nested object), in declaration order.
 *
 * @example
 * ```ts
 * secretKeys(z.object({ apiKey: secret(z.string()), subdomain: z.string() })); // ['apiKey']
 * ```
 */
export function secretKeys(configSchema: ConnectorConfigSchema): string[] {
  const keys: string[] = [];
  const visit = (shape: z.core.$ZodShape, prefix: string): void => {
    for (const [name, field] of Object.entries(shape)) {
      const path = prefix + name;
      if (isSecret(field)) keys.push(path);
      else {
        const nested = objectShapeOf(field);
        if (nested) visit(nested, `${path}.`);
      }
    }
  };
  visit(configSchema.shape, '');
  return keys;
}

/** The zod metadata key {@link endpoint} sets (a JSON Schema extension keyword). */
const ENDPOINT_META = 'x-rapport-endpoint';

/**
 * Marks a config field as an endpoint: where the connector sends the connection's
 * credentials (a base URL, a host, a tenant subdomain). Changing it in `updateConnection`
 * requires every stored secret to be sent again, so a caller who may edit connections
 * cannot point them at a listener of their own and collect the stored token. Fields
 * are also treated as endpoints without the mark when their format is a URL, host name
 * or IP address, or their name ends in url, uri, host, hostname, endpoint, domain,
 * server, origin or tenant (any case, `_`/`-` ignored, plural too); `endpoint(schema, false)`
 * opts a field out of that guess.
 *
 * @example
 * ```ts
 * const config = z.object({
 *   apiKey: secret(z.string()),
 *   account: endpoint(z.string()).describe('Account name, as in https://<account>.acme.test'),
 *   imageHost: endpoint(z.string(), false).describe('CDN host for thumbnails; no credentials go there'),
 * });
 * ```
 */
export function endpoint<Schema extends z.ZodType>(schema: Schema, isEndpoint = true): Schema {
  return schema.meta({ [ENDPOINT_META]: isEndpoint });
}

const ENDPOINT_NAME = /(url|uri|host|hostname|endpoint|domain|server|origin|tenant)s?$/;
const ENDPOINT_FORMATS = new Set(['url', 'hostname', 'ipv4', 'ipv6', 'cidrv4', 'cidrv6']);

/**
 * Whether a config field is an endpoint (see {@link endpoint}): marked, or guessed from
 * its format or name.
 *
 * @example
 * ```ts
 * isEndpoint('baseUrl', z.url()); // true
 * isEndpoint('account', endpoint(z.string())); // true
 * isEndpoint('pageSize', z.int()); // false
 * ```
 */
export function isEndpoint(name: string, schema: z.core.$ZodType): boolean {
  const chain = unwrapChain(schema);
  const mark = chain.map((layer) => z.globalRegistry.get(layer)?.[ENDPOINT_META]).find((value) => typeof value === 'boolean');
  if (typeof mark === 'boolean') return mark;
  if (ENDPOINT_NAME.test(name.toLowerCase().replace(/[-_]/g, ''))) return true;
  const core = defOf(chain[chain.length - 1]);
  const element = core.type === 'array' && core.element ? defOf(innermost(core.element)) : core;
  return [element.format, ...(element.checks ?? []).map((check) => (check._zod.def as { format?: unknown }).format)].some(
    (format) => typeof format === 'string' && ENDPOINT_FORMATS.has(format),
  );
}

/**
 * Lists the config fields that are endpoints (see {@link endpoint}), as dotted paths,
 * in declaration order. Secrets are never endpoints.
 *
 * @example
 * ```ts
 * endpointKeys(z.object({ apiKey: secret(z.string()), baseUrl: z.url(), pageSize: z.int() })); // ['baseUrl']
 * ```
 */
export function endpointKeys(configSchema: ConnectorConfigSchema): string[] {
  const keys: string[] = [];
  const visit = (shape: z.core.$ZodShape, prefix: string): void => {
    for (const [name, field] of Object.entries(shape)) {
      const path = prefix + name;
      if (isSecret(field)) continue;
      const nested = objectShapeOf(field);
      if (nested && !isEndpoint(name, field)) visit(nested, `${path}.`);
      else if (isEndpoint(name, field)) keys.push(path);
    }
  };
  visit(configSchema.shape, '');
  return keys;
}

/**
 * The kind of value a config field takes, as shown to users.
 *
 * @example
 * ```ts
 * const type: ConfigFieldType = 'integer';
 * ```
 */
export type ConfigFieldType = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'array' | 'object' | 'unknown';

/**
 * A JSON-serialisable description of one config field, for the `connectors` GraphQL
 * query and for forms that let a user create a connection.
 *
 * @example
 * ```ts
 * const field: ConfigFieldDescription = { name: 'pageSize', type: 'integer', required: false, secret: false, description: 'Records per request', default: 100 };
 * ```
 */
export interface ConfigFieldDescription {
  /** The field's key in the config object. */
  name: string;
  /** The kind of value. */
  type: ConfigFieldType;
  /** A string or number format zod knows (`url`, `email`, `uuid`, `safeint`…), when the field has one. */
  format?: string;
  /** Whether a config without this field is rejected (a field with a default is not required). */
  required: boolean;
  /** Whether the field was marked with {@link secret}. */
  secret: boolean;
  /** Present (`true`) when the field is an endpoint ({@link endpoint}): changing it requires the secrets again. */
  endpoint?: true;
  /** Whether `null` is accepted. */
  nullable: boolean;
  /** From `.describe()` or `.meta({ description })`. */
  description?: string;
  /** The default value, when there is one and it is not secret. */
  default?: JsonValue;
  /** The accepted values of an `enum` (or a literal). */
  values?: JsonValue[];
  /** For an `array`: the element's description (its `name` is `'[]'`). */
  items?: ConfigFieldDescription;
  /** For an `object`: its fields. */
  fields?: ConfigFieldDescription[];
}

/**
 * Describes a connector's config fields as plain JSON: name, type, required, secret,
 * description and default (secret defaults are never included).
 *
 * @example
 * ```ts
 * describeConfig(z.object({
 *   apiKey: secret(z.string()).describe('Acme API key'),
 *   pageSize: z.int().default(100),
 * }));
 * // [
 * //   { name: 'apiKey', type: 'string', required: true, secret: true, nullable: false, description: 'Acme API key' },
 * //   { name: 'pageSize', type: 'integer', format: 'safeint', required: false, secret: false, nullable: false, default: 100 },
 * // ]
 * ```
 */
export function describeConfig(configSchema: ConnectorConfigSchema): ConfigFieldDescription[] {
  return Object.entries(configSchema.shape).map(([name, field]) => describeField(name, field));
}

/**
 * The value {@link redactSecrets} puts in place of a secret.
 *
 * @example
 * ```ts
 * if (shown.apiKey === REDACTED) renderAsSet('apiKey');
 * ```
 */
export const REDACTED = '[redacted]';

/**
 * Copies a config with every secret field that has a value replaced by {@link REDACTED}:
 * what the API returns and what the logs may contain.
 *
 * @example
 * ```ts
 * redactSecrets(acme.config, { apiKey: 'sk_live_1', subdomain: 'demo' }); // { apiKey: '[redacted]', subdomain: 'demo' }
 * ```
 */
export function redactSecrets(configSchema: ConnectorConfigSchema, config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const redact = (shape: z.core.$ZodShape, value: Readonly<Record<string, unknown>>): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...value };
    for (const [name, field] of Object.entries(shape)) {
      const current = copy[name];
      if (current === undefined || current === null) continue;
      if (isSecret(field)) copy[name] = REDACTED;
      else {
        const nested = objectShapeOf(field);
        if (nested && typeof current === 'object' && !Array.isArray(current)) copy[name] = redact(nested, current as Record<string, unknown>);
      }
    }
    return copy;
  };
  return redact(configSchema.shape, config);
}

type Def = z.core.$ZodTypeDef & {
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  element?: z.core.$ZodType;
  shape?: z.core.$ZodShape;
  entries?: Record<string, string | number>;
  values?: unknown[];
  format?: string;
  defaultValue?: unknown;
};

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

function defOf(schema: z.core.$ZodType): Def {
  return schema._zod.def as Def;
}

/** The schema at the bottom of `unwrapChain`: the one that holds the value's own type. */
function innermost(schema: z.core.$ZodType): z.core.$ZodType {
  const chain = unwrapChain(schema);
  return chain[chain.length - 1] ?? schema;
}

/** The schema and every schema it wraps, outermost first (`pipe` follows its input side). */
function unwrapChain(schema: z.core.$ZodType): z.core.$ZodType[] {
  const chain = [schema];
  let current = schema;
  for (;;) {
    const def = defOf(current);
    const next = WRAPPERS.has(def.type) ? def.innerType : def.type === 'pipe' ? def.in : undefined;
    if (!next) return chain;
    chain.push(next);
    current = next;
  }
}

function objectShapeOf(schema: z.core.$ZodType): z.core.$ZodShape | undefined {
  const chain = unwrapChain(schema);
  const def = defOf(chain[chain.length - 1]);
  return def.type === 'object' ? def.shape : undefined;
}

function describeField(name: string, field: z.core.$ZodType): ConfigFieldDescription {
  const chain = unwrapChain(field);
  const core = chain[chain.length - 1];
  const def = defOf(core);
  const isSecretField = chain.some((layer) => z.globalRegistry.get(layer)?.writeOnly === true);

  const description: ConfigFieldDescription = {
    name,
    type: 'unknown',
    required: field._zod.optin !== 'optional' && field._zod.optin !== 'defaulted',
    secret: isSecretField,
    nullable: chain.some((layer) => defOf(layer).type === 'nullable'),
  };
  if (name !== '[]' && !isSecretField && isEndpoint(name, field)) description.endpoint = true;

  const text = chain.map((layer) => z.globalRegistry.get(layer)?.description).find((value) => typeof value === 'string');
  if (text !== undefined) description.description = text;

  const format = def.format ?? def.checks?.map((check) => (check._zod.def as { format?: unknown }).format).find((value) => typeof value === 'string');
  switch (def.type) {
    case 'string':
    case 'boolean':
      description.type = def.type;
      break;
    case 'number':
      description.type = format !== undefined && /int/.test(format) ? 'integer' : 'number';
      break;
    case 'enum':
      description.type = 'enum';
      description.values = Object.values(def.entries ?? {});
      break;
    case 'literal':
      description.type = 'enum';
      description.values = (def.values ?? []).filter(isJsonValue);
      break;
    case 'array':
      description.type = 'array';
      if (def.element) description.items = describeField('[]', def.element);
      break;
    case 'object':
      description.type = 'object';
      description.fields = Object.entries(def.shape ?? {}).map(([key, value]) => describeField(key, value));
      break;
  }
  if (format !== undefined) description.format = format;

  if (!isSecretField) {
    const withDefault = chain.find((layer) => defOf(layer).type === 'default' || defOf(layer).type === 'prefault');
    if (withDefault) {
      const value = defOf(withDefault).defaultValue;
      if (isJsonValue(value)) description.default = value;
    }
  }
  return description;
}
