// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * ESLint (flat config) with typescript-eslint's recommended rules. Formatting is Prettier's job
 * (.prettierrc.json), so no stylistic rules here. Run with `npm run lint`.
 */
export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'outbox/', 'test-results/', '.comeback/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: globals.node },
    rules: {
      // Deliberate: input sanitising matches control characters (NUL, CR/LF injection) by design.
      'no-control-regex': 'off',
      // `_name` marks a parameter or binding kept for its position or to drop a field from a rest copy.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Kysely's documented migration idiom is `Kysely<any>`: a migration must not depend on
    // today's schema types.
    files: ['migrations/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Tests reach into fakes and mocks with `any`, rethrow setup failures with a hint instead of
    // a cause chain, and match the CLI's column-aligned output with literal spaces.
    files: ['test/**/*.ts', 'test/**/*.mjs'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      'preserve-caught-error': 'off',
      'no-regex-spaces': 'off',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
