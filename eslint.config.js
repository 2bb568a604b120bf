// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './eslint/import-layers.js';

/**
 * The layers of src/, bottom first: each folder (or file directly in src/) imports only units of
 * lower layers (eslint/import-layers.js). Foundations (errors, byte formats, crypto, input
 * schemas), then storage, then the concepts built on it, then the facade that assembles them, then
 * what uses the library from outside (the import file reader, the CLI).
 */
const SRC_LAYERS = [
  ['errors'],
  ['format'],
  ['crypto'],
  ['schema'],
  ['store'],
  ['guard'],
  ['integrity'],
  ['scan'],
  ['audit'],
  ['keys'],
  ['access'],
  ['retention', 'upgrade', 'vault-guard'],
  ['vault'],
  ['open-vault'],
  ['import'],
  ['index'],
  ['cli'],
];

/**
 * The CLI uses the library as its users do, through src/index.ts; besides it only helpers with no
 * vault behaviour: text formats (durations) and the zod issue reporter that names the field.
 */
const CLI_IMPORTS = ['index', 'format', 'schema/zod-errors'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-extraneous-class': 'off',
      // Boundaries re-check at run time what the types promise: JavaScript callers exist.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // The public API is async by design (a KMS or networked store can come later).
      '@typescript-eslint/require-await': 'off',
      // Secrets: no console in library code; the CLI prints through its own output module.
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { childvault: layers },
    rules: {
      'childvault/import-layers': ['error', { layers: SRC_LAYERS, srcDir: `${import.meta.dirname}/src`, apiOnly: { cli: CLI_IMPORTS } }],
      // libsodium's API (and its WASM heap) stays behind crypto/'s wrappers.
      'no-restricted-imports': ['error', { paths: [{ name: 'libsodium-wrappers-sumo', message: 'use the wrappers in src/crypto/' }] }],
    },
  },
  {
    files: ['src/crypto/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['eslint.config.js', 'eslint/**/*.js', 'vitest.config.ts'],
    ...tseslint.configs.disableTypeChecked,
  },
);
