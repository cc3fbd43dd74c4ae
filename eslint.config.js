import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/results/', '.tmp/']},
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname},
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        URLSearchParams: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        Response: 'readonly',
        Headers: 'readonly',
        Request: 'readonly',
        crypto: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      '@typescript-eslint/consistent-type-imports': ['error', {fixStyle: 'inline-type-imports'}],
      // Noise here: async functions implement Promise-returning contracts (oclif run/catch, handlers, stop hooks).
      '@typescript-eslint/require-await': 'off',
      // URLSearchParams (typed by @types/node, not lib) stringifies to its query string by definition.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allow: [
            {name: ['Error', 'URL', 'URLSearchParams'], from: 'lib'},
            {name: ['URLSearchParams', 'URL'], from: 'package', package: 'url'},
          ],
        },
      ],
    },
  },
  {
    // Tests read parsed JSON (any) and assert its shape with expect: no-unsafe-* only repeats that it is any.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    // The in-process runner saves and restores process methods (stdout.write, exit) as values on purpose.
    files: ['test/**'],
    rules: {'@typescript-eslint/unbound-method': 'off'},
  },
  {
    // Plain JavaScript (allowJs, no checkJs): values are untyped and arrays of pairs infer as unions, so these flag every use.
    files: ['bench/**/*.js', 'test/**/*.{js,cjs,mjs}'],
    rules: {
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  {
    // Outside the TypeScript project (tsconfig.json includes src, test, bench): linted without types.
    files: ['*.js', '*.ts', 'bin/**', 'scripts/**'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The launchers are CommonJS (bin/package.json): see bin/run.js.
    files: ['bin/*.js'],
    languageOptions: {sourceType: 'commonjs', globals: {require: 'readonly', __dirname: 'readonly'}},
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
)
