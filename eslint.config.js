const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const prettier = require('eslint-config-prettier');
const globals = require('globals');

module.exports = tseslint.config(
  { ignores: ['lib/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', 'bin/*'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      // Scripts may require node:buffer or name timers explicitly.
      'no-redeclare': ['error', { builtinGlobals: false }],
    },
  },
  {
    // The console's page runs in the browser, as a classic script.
    files: ['resources/console/**/*.js'],
    languageOptions: { sourceType: 'script', globals: globals.browser },
  },
);
