import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { ErrorCode } from '../errors/catalog';
import { builder } from './builder';
import { isStorableInstant } from '../infra/db-values';

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value)) {
    throw new GraphQLError(`expected an ISO 8601 date-time with a time zone, e.g. 2026-11-22T10:00:00Z; got ${JSON.stringify(value)}`, {
      extensions: { code: ErrorCode.INVALID_FIELD },
    });
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || !isStorableInstant(date)) {
    throw new GraphQLError(`${JSON.stringify(value)} is not a real date-time in years 1 to 9999`, { extensions: { code: ErrorCode.INVALID_FIELD } });
  }
  return date;
}

builder.scalarType('DateTime', {
  description: 'An instant as an ISO 8601 string with a time zone (2026-11-22T10:00:00Z). Output is always UTC.',
  serialize: (value) => (value instanceof Date ? value : new Date(value)).toISOString(),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

function literalToJson(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalToJson);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value)]));
    default:
      throw new GraphQLError('variables inside JSON literals are not supported', { extensions: { code: ErrorCode.BAD_REQUEST } });
  }
}

builder.scalarType('JSON', {
  description: 'Any JSON value (objects for traits and properties).',
  serialize: (value) => value,
  parseValue: (value) => value as NonNullable<unknown>,
  parseLiteral: (ast) => literalToJson(ast) as NonNullable<unknown>,
});
