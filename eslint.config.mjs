// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * typescript-eslint's recommended and strict rule sets over every TypeScript
 * file; `npm test` runs it (`npm run lint`) after the type check.
 */
export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.rapport/**',
      'test/generated/**',
      'packages/*/dist/**',
      'packages/console/src/gql/**',
      'bench/peers/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...tseslint.configs.strict,
  {
    rules: {
      // A leading underscore marks a binding that is unused on purpose: a parameter
      // a signature requires, or a key destructured away from the rest.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests, test fixtures and benchmarks assert on data they built themselves
    // (a fixture row, a seeded customer, the first element of a result the test
    // just checked the length of). There a `!` states what the test already
    // knows, and a missing value fails the test with a TypeError at that line,
    // which is the failure wanted. Product code (src/, plugins/) keeps the rule:
    // it narrows, returns early or throws an error that names what was missing.
    files: ['test/**/*.ts', '**/*.test.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
