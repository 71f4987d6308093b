// ESLint (flat config) with typescript-eslint; `npm test` runs it before the type check and vitest.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'bench/results/', 'tests/histories/', 'db/migrations/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_name` marks what is deliberately unused (destructured away, or a required parameter).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // The console's one browser script.
    files: ['console/assets/**/*.js'],
    languageOptions: { globals: { ...globals.browser }, sourceType: 'script' },
  },
  {
    // Parsed JSON answers in tests and scripts are checked by assertions, not by types.
    files: ['tests/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox and is replayed from history: it may not
    // reach the outside world. (Date.now() and timers are the sandbox's deterministic ones.)
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'Workflow code may not use Node built-ins: do it in an activity.',
            })),
            ...[
              '@temporalio/client',
              '@temporalio/worker',
              '@temporalio/activity',
              'postgres',
              'drizzle-orm',
              '@electric-sql/pglite',
              'fastify',
            ].map((name) => ({
              name,
              message: 'Workflow code may not do I/O: call an activity.',
              allowTypeImports: true,
            })),
          ],
          patterns: [
            {
              group: [
                '#db/*',
                '#services/*',
                '#audit/*',
                '#backup/*',
                '#read-model/*',
                '#config/*',
                '#api/*',
                '#worker/*',
              ],
              message: 'Workflow code imports only workflows/ and domain/.',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...[
          'process',
          'fetch',
          'Buffer',
          'crypto',
          'require',
          'performance',
          'setImmediate',
          'WeakRef',
          'FinalizationRegistry',
        ].map((name) => ({
          name,
          message: 'Not deterministic under replay: do it in an activity, or use what @temporalio/workflow offers.',
        })),
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Use uuid4() or a value from the workflow input: a workflow is replayed.',
        },
      ],
    },
  },
);
