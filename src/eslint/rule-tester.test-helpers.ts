/**
 * ESLint's RuleTester wired to vitest, with a TypeScript variant (typescript-eslint's parser):
 * each rule's test runs its cases as JavaScript modules, and the TS cases through the parser
 * `drove check --static` uses for .ts files.
 */
import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, it } from 'vitest';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;
(RuleTester as unknown as { afterAll: typeof afterAll }).afterAll = afterAll;

/** JavaScript: latest syntax, ES modules (CommonJS `require` parses in modules too). */
export const js = new RuleTester({
  languageOptions: { ecmaVersion: 'latest', sourceType: 'module' },
});

/** TypeScript through typescript-eslint's parser. */
export const ts = new RuleTester({
  languageOptions: { parser: tseslint.parser, ecmaVersion: 'latest', sourceType: 'module' },
});
