/**
 * Jest preset for connector packages: `{ "preset": "@rapport/connector-kit" }` in
 * the package's Jest config. It compiles TypeScript tests and sources with
 * @swc/jest (install `jest`, `@swc/jest` and `@swc/core` as dev dependencies),
 * runs them in Node and picks up `*.test.ts` files.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: {
    '^.+\\.[cm]?ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
};
