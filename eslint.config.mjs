// Lint, including the layer rules of docs/ARCHITECTURE.md: where code runs decides what it may
// import. A wrong import fails `npm test` (see test/layers.test.ts).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const msg = (where, what) => `Layer rule: ${where} must not import ${what} (see docs/ARCHITECTURE.md).`;
const noNode = (where) => ({ paths: nodeBuiltins.map((name) => ({ name, message: msg(where, 'Node built-ins') })) });
const pattern = (group, where, what) => ({ group, message: msg(where, what) });

const electronOnly = (where) => ({ name: 'electron', message: msg(where, 'electron (only src/main/electron and src/preload may)') });

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'release/**', 'node_modules/**', 'resources/**', 'coverage/**', 'test-results/**', '.electron-native/**', '.gpu/**', '.gl/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['bin/**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { globals: { ...globals.browser } },
    rules: { ...reactHooks.configs.recommended.rules },
  },
  // --- Layer rules -------------------------------------------------------------------------
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          ...noNode('src/shared'),
          paths: [...noNode('src/shared').paths, electronOnly('src/shared')],
          patterns: [
            pattern(['**/main/**', '**/main', '**/renderer/**', '**/worker/**', '**/preload/**'], 'src/shared', 'main, renderer, worker or preload code'),
            pattern(['better-sqlite3', 'sharp', '@tensorflow/*', 'webgpu', 'react', 'react-dom', '@mantine/*', 'ws'], 'src/shared', 'platform-specific libraries'),
          ],
        },
      ],
    },
  },
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...noNode('src/renderer').paths, electronOnly('src/renderer')],
          patterns: [
            pattern(['**/main/**', '**/main', '**/worker/**', '**/preload/**'], 'src/renderer', 'main, worker or preload code (talk to main through the contract client)'),
            pattern(['better-sqlite3', 'sharp', '@tensorflow/*', 'webgpu', 'ws'], 'src/renderer', 'Node-only libraries'),
          ],
        },
      ],
    },
  },
  {
    files: ['src/main/**/*.ts'],
    ignores: ['src/main/electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electronOnly('src/main (outside src/main/electron)')],
          patterns: [
            pattern(['**/renderer/**', '**/preload/**', '**/worker/**', '**/worker'], 'src/main', 'renderer, preload or worker code (talk to the worker through the protocol)'),
            pattern(['@tensorflow/*', 'webgpu'], 'src/main', 'TensorFlow.js (it runs in the worker)'),
          ],
        },
      ],
    },
  },
  {
    files: ['src/main/electron/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [pattern(['**/renderer/**', '**/worker/**'], 'src/main/electron', 'renderer or worker code')] },
      ],
    },
  },
  {
    files: ['src/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: noNode('src/preload').paths,
          patterns: [pattern(['**/main/**', '**/renderer/**', '**/worker/**'], 'src/preload', 'main, renderer or worker code')],
        },
      ],
    },
  },
  {
    files: ['src/worker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [electronOnly('src/worker'), { name: 'better-sqlite3', message: msg('src/worker', 'SQLite (main is the only writer)') }],
          patterns: [pattern(['**/main/**', '**/renderer/**', '**/preload/**'], 'src/worker', 'main, renderer or preload code')],
        },
      ],
    },
  },
);
