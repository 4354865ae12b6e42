// ESLint for stream-shim: typescript-eslint's recommended rules, a few typed
// rules that guard against unhandled promise rejections, and a format check
// (@stylistic) set to the code's existing style. `npm run lint` runs it;
// `npm run lint -- --fix` fixes what can be fixed mechanically.
import js from '@eslint/js'
import stylistic from '@stylistic/eslint-plugin'
import { defineConfig, globalIgnores } from 'eslint/config'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'bench/node_modules/', 'bench/profiles/', '**/scratch/']),

  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: globals.node },
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a parameter kept for its position (Express's four-argument error handler).
      '@typescript-eslint/no-unused-vars': ['error', {
        argsIgnorePattern: '^_',
        varsIgnorePattern: '^_',
        caughtErrorsIgnorePattern: '^_',
        destructuredArrayIgnorePattern: '^_',
      }],
      // `declare global { namespace Express { ... } }` is how Express's Request is extended.
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
    },
  },

  // Typed rules: a promise nobody handles is an unhandled rejection, and a
  // rejection in an async event listener is one too.
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['lib/**/*.ts', 'adapters/**/*.ts'],
    rules: {
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },

  // Tests drive framework objects loosely and check them at run time; the
  // public types are pinned by test/types, where `any` stays an error. Both
  // majors of Express and Koa are loaded side by side, one under an npm alias
  // with no types of its own, and passport has no types here: those packages
  // are loaded with require().
  {
    files: ['test/**/*.ts'],
    ignores: ['test/types/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': ['error', {
        allow: ['^express4?$', '^koa2?$', '^koa-router$', '^koa-bodyparser$', '^@koa/bodyparser$', '^passport(-local)?$'],
      }],
    },
  },

  // CommonJS files: require() is their module system.
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },

  // Format: the code's own style (2 spaces, single quotes, no semicolons,
  // trailing commas on multiline literals, operators at the end of a broken
  // line but `?`, `:` and type unions' `|` at the start).
  stylistic.configs.customize({
    indent: 2,
    quotes: 'single',
    semi: false,
    braceStyle: '1tbs',
    commaDangle: 'always-multiline',
    arrowParens: true,
    quoteProps: 'as-needed',
  }),
  {
    rules: {
      '@stylistic/member-delimiter-style': ['error', {
        multiline: { delimiter: 'none' },
        singleline: { delimiter: 'semi', requireLast: false },
      }],
      '@stylistic/operator-linebreak': ['error', 'after', { overrides: { '?': 'before', ':': 'before', '|': 'before' } }],
      '@stylistic/indent-binary-ops': 'off',
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'always' }],
    },
  },
)
