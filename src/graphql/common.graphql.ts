import { builder } from './builder';
import { ERROR_CATALOG, ErrorCode } from '../errors/catalog';

/** Shared inputs and types: field filters, ordering direction, batch modes, row errors. */

export const SortDirection = builder.enumType('SortDirection', {
  description: 'Ordering direction.',
  values: { ASC: { description: 'Smallest first.' }, DESC: { description: 'Largest first.' } } as const,
});

export const BatchModeEnum = builder.enumType('BatchMode', {
  description: 'How a batch mutation treats invalid rows.',
  values: {
    ATOMIC: { description: 'Write nothing if any row is invalid; report every invalid row. The default.' },
    PER_ROW: { description: 'Write the valid rows and report the invalid ones.' },
  } as const,
});

export const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description: 'Stable error codes; also used as `extensions.code` of GraphQL errors. docs/errors.md lists each with its message.',
  values: Object.fromEntries(Object.values(ErrorCode).map((code) => [code, { description: ERROR_CATALOG[code].doc }])) as Record<
    ErrorCode,
    { description: string }
  >,
});

export const RowErrorRef = builder.objectRef<{ code: string; field?: string; message: string }>('RowError').implement({
  description: 'Why one row of a batch was not written.',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'Stable error code (see ErrorCode).' }),
    field: t.exposeString('field', { nullable: true, description: 'Path of the field at fault inside the row, e.g. `customer.identifiers[0].value`.' }),
    message: t.exposeString('message', { description: 'What is wrong and how to fix it.' }),
  }),
});

export const StringFilterInput = builder.inputType('StringFilter', {
  description: 'Conditions on a text field; all given conditions must hold.',
  fields: (t) => ({
    eq: t.string({ description: 'Equal to.' }),
    ne: t.string({ description: 'Not equal to (NULL counts as different).' }),
    in: t.stringList({ description: 'One of these values (at most 1000).' }),
    contains: t.string({ description: 'Contains this text, case-insensitive.' }),
    startsWith: t.string({ description: 'Starts with this text, case-sensitive.' }),
    isNull: t.boolean({ description: 'True: the field is empty; false: it has a value.' }),
  }),
});

export const FloatFilterInput = builder.inputType('FloatFilter', {
  description: 'Conditions on a number; all given conditions must hold.',
  fields: (t) => ({
    eq: t.float({ description: 'Equal to.' }),
    ne: t.float({ description: 'Not equal to.' }),
    in: t.floatList({ description: 'One of these values (at most 1000).' }),
    gt: t.float({ description: 'Greater than.' }),
    gte: t.float({ description: 'Greater than or equal to.' }),
    lt: t.float({ description: 'Less than.' }),
    lte: t.float({ description: 'Less than or equal to.' }),
    isNull: t.boolean({ description: 'True: the field is empty; false: it has a value.' }),
  }),
});

export const IntFilterInput = builder.inputType('IntFilter', {
  description: 'Conditions on an integer; all given conditions must hold.',
  fields: (t) => ({
    eq: t.int({ description: 'Equal to.' }),
    ne: t.int({ description: 'Not equal to.' }),
    in: t.intList({ description: 'One of these values (at most 1000).' }),
    gt: t.int({ description: 'Greater than.' }),
    gte: t.int({ description: 'Greater than or equal to.' }),
    lt: t.int({ description: 'Less than.' }),
    lte: t.int({ description: 'Less than or equal to.' }),
  }),
});

export const DateTimeFilterInput = builder.inputType('DateTimeFilter', {
  description: 'Conditions on an instant; all given conditions must hold.',
  fields: (t) => ({
    eq: t.field({ type: 'DateTime', description: 'At exactly this instant.' }),
    gt: t.field({ type: 'DateTime', description: 'After.' }),
    gte: t.field({ type: 'DateTime', description: 'At or after.' }),
    lt: t.field({ type: 'DateTime', description: 'Before.' }),
    lte: t.field({ type: 'DateTime', description: 'At or before.' }),
    isNull: t.boolean({ description: 'True: the field is empty; false: it has a value.' }),
  }),
});

export const IdFilterInput = builder.inputType('IDFilter', {
  description: 'Conditions on a global id.',
  fields: (t) => ({
    eq: t.id({ description: 'Equal to this global id.' }),
    in: t.idList({ description: 'One of these global ids (at most 1000).' }),
    isNull: t.boolean({ description: 'True: no id; false: any id.' }),
  }),
});
