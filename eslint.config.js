// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // One config module reads the environment; everything else is handed a Config.
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through @mana/config (loadConfig) instead.' }],
    },
  },
  {
    // The places allowed to touch process.env: the config module, each
    // process entry point, and test/benchmark harnesses.
    files: [
      'packages/config/src/**',
      'apps/*/src/main.ts',
      'apps/demo/src/**',
      'apps/cli/src/main.ts',
      'packages/emulators/src/cli.ts',
      'packages/testing/src/**',
      'test/**',
      '*.config.ts',
    ],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Tests read raw wire JSON whose shape is the thing under test.
    files: ['**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
