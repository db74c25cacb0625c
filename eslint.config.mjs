// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * typescript-eslint's recommended and strict rule sets over every TypeScript
 * file; `npm test` runs it (`npm run lint`) before the suite.
 */
export default tseslint.config(
  { ignores: ['node_modules/**', '.rapport/**', 'test/generated/**', 'bench/peers/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...tseslint.configs.strict,
);
