/**
 * drove's ESLint plugin: rules that find process-local state before it ships. Each rule reports
 * what breaks when the app runs as several processes behind a balancer, and the fix.
 *
 * Needs `eslint` (^10) as an optional peer, and `typescript-eslint` for TypeScript sources; this
 * module imports neither at run time (the rules are plain objects), and nothing of the CLI.
 *
 * @example
 * ```js
 * // eslint.config.js
 * import drove from 'drovejs/eslint';
 * export default [drove.configs.recommended];
 * ```
 * @module
 */
import type { ESLint, Linter } from 'eslint';
import { type Advice, type DroveRule, FIX_SEPARATOR } from './advice.js';
import { noLocalFiles } from './rules/no-local-files.js';
import { noMemoryLimiterOrCache } from './rules/no-memory-limiter-or-cache.js';
import { noMemorySessionStore } from './rules/no-memory-session-store.js';
import { noModuleState } from './rules/no-module-state.js';
import { noRuntimeAssets } from './rules/no-runtime-assets.js';
import { noStickySessions } from './rules/no-sticky-sessions.js';

export type { Advice, DroveRule };
export { FIX_SEPARATOR };

/** The rules, by name without the `drove/` prefix. */
export const rules: Record<string, DroveRule> = {
  'no-memory-session-store': noMemorySessionStore,
  'no-module-state': noModuleState,
  'no-local-files': noLocalFiles,
  'no-memory-limiter-or-cache': noMemoryLimiterOrCache,
  'no-sticky-sessions': noStickySessions,
  'no-runtime-assets': noRuntimeAssets,
};

/** The source files the recommended config applies to: JavaScript and TypeScript. */
export const files = ['**/*.{js,mjs,cjs,jsx,ts,mts,cts,tsx}'];

const plugin = {
  meta: { name: 'drovejs/eslint', namespace: 'drove' },
  rules: rules as unknown as ESLint.Plugin['rules'],
  configs: {} as { recommended: Linter.Config },
} satisfies ESLint.Plugin;

/**
 * Every rule as an error, for JS and TS files. TypeScript files also need a parser: add
 * `languageOptions: { parser: tseslint.parser }` (typescript-eslint) for them, as
 * `drove check --static` does.
 */
plugin.configs.recommended = {
  name: 'drove/recommended',
  files,
  plugins: { drove: plugin as unknown as ESLint.Plugin },
  rules: Object.fromEntries(Object.keys(rules).map((name) => [`drove/${name}`, 'error' as const])),
};

/** The fix advice of a finding, from its rule id (`drove/…`) and message id. */
export function fixOf(ruleId: string | null, messageId: string | undefined): string | undefined {
  if (!ruleId?.startsWith('drove/') || !messageId) return undefined;
  return rules[ruleId.slice('drove/'.length)]?.advice[messageId]?.fix;
}

export const configs = plugin.configs;
export default plugin;
