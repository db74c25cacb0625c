import { defaultFieldResolver, GraphQLObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { hasScope, type Principal } from './scopes';

/** Fields holding personal data, masked for callers without `pii:read`. */
export const PERSONAL_FIELDS: Record<string, (value: unknown, personalTraits: ReadonlySet<string>) => unknown> = {
  'Customer.displayName': (v) => maskText(v),
  'Identifier.value': (v) => maskText(v),
  'Customer.traits': (v, personal) => maskTraits(v, personal),
};

export const MASK = '•••';

/** Keeps the first character so lists stay scannable: `Ada Lovelace` → `A•••`. */
export function maskText(value: unknown): unknown {
  if (typeof value !== 'string' || value.length === 0) return value;
  return value[0] + MASK;
}

function maskTraits(value: unknown, personal: ReadonlySet<string>): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, personal.has(k) ? MASK : v]));
}

/**
 * Wraps the resolvers of personal fields in one place: the value is masked
 * unless the caller holds `pii:read`. Filters on personal data are refused
 * separately (see `requirePii`).
 */
export function applyPersonalDataMasking(schema: GraphQLSchema): GraphQLSchema {
  for (const [key, mask] of Object.entries(PERSONAL_FIELDS)) {
    const [typeName, fieldName] = key.split('.');
    const type = schema.getType(typeName);
    if (!(type instanceof GraphQLObjectType)) continue;
    const field = type.getFields()[fieldName];
    if (!field || (field.extensions as { piiMasked?: boolean }).piiMasked) continue;
    const resolve: GraphQLFieldResolver<unknown, { principal?: Principal; personalTraits?: ReadonlySet<string> }> = field.resolve ?? defaultFieldResolver;
    field.resolve = async (source, args, context, info) => {
      const value = await resolve(source, args, context, info);
      return hasScope(context.principal, 'pii:read') ? value : mask(value, context.personalTraits ?? new Set());
    };
    (field as { extensions: Record<string, unknown> }).extensions = { ...field.extensions, piiMasked: true };
  }
  return schema;
}
