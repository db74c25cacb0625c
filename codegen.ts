import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations in test/operations: tests import them from
 * test/generated/graphql.ts, so a schema change that breaks an operation fails
 * type-checking. Run `npm run codegen` after changing either side.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/operations/*.graphql'],
  generates: {
    'test/generated/graphql.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' },
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
        useTypeImports: true,
      },
    },
  },
};

export default config;
