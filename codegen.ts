import type { CodegenConfig } from '@graphql-codegen/cli';

/** Types every generated file shares: scalars as they travel in JSON. */
const shared = {
  scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' },
  enumsAsTypes: true,
  avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
  useTypeImports: true,
};

/**
 * Typed documents for the operations in test/operations and in the console's
 * packages/console/src/operations: tests import them from
 * test/generated/graphql.ts, the console from its src/gql/graphql.ts, so a
 * schema change that breaks an operation fails type-checking. The console's
 * documents are plain strings (no GraphQL parser in the browser bundle). Run
 * `npm run codegen` after changing either side.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'test/generated/graphql.ts': {
      documents: ['test/operations/*.graphql'],
      plugins: ['typescript-operations', 'typed-document-node'],
      config: shared,
    },
    'packages/console/src/gql/graphql.ts': {
      documents: ['packages/console/src/operations/*.graphql'],
      plugins: ['typescript-operations', 'typed-document-node'],
      config: { ...shared, documentMode: 'string' },
    },
  },
};

export default config;
