/**
 * The static half of `drove check`: lint an app's JavaScript and TypeScript sources with drove's
 * ESLint rules (the recommended config of `drovejs/eslint`, nothing of the project's own ESLint
 * config) and report each finding with its file, line, rule and fix.
 *
 * ESLint is an optional peer loaded on first use (DROVE_ERR_MISSING_PEER names the install
 * command); typescript-eslint only when there are TypeScript files to parse.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ESLint, Linter } from 'eslint';
import { InvalidOptionError, MissingPeerError } from '../errors.js';
import plugin, { FIX_SEPARATOR, fixOf } from '../eslint/index.js';
import { importPeer } from '../internal/peer.js';

/** One finding: where, which rule, what is wrong and what to do. */
export interface StaticFinding {
  /** Path relative to `cwd`, with forward slashes. */
  file: string;
  line: number;
  column: number;
  rule: string;
  problem: string;
  fix: string;
}

/** A file the check could not read or parse: the result is incomplete. */
export interface StaticFailure {
  file: string;
  line: number;
  message: string;
}

export interface StaticReport {
  /** Number of files linted. */
  files: number;
  findings: StaticFinding[];
  failures: StaticFailure[];
}

export interface StaticOptions {
  /** Files or folders, relative to `cwd`; default the whole of `cwd`. */
  paths?: string[];
  /** Root of the app; default `process.cwd()`. */
  cwd?: string;
  /**
   * The peers' package names (default `eslint`, `typescript-eslint`). Only the tests change
   * them, to a name that is really not installed.
   */
  peers?: { eslint?: string; typescriptEslint?: string };
}

/** Never the app's own code: dependencies, build output, tests, and browser-side assets. */
export const DEFAULT_IGNORES = [
  '**/node_modules/',
  '**/dist/',
  '**/build/',
  '**/coverage/',
  '**/public/',
  '**/static/',
  '**/vendor/',
  '**/.drove/',
  '**/*.min.js',
  '**/*.d.ts',
  '**/test/',
  '**/tests/',
  '**/__tests__/',
  '**/*.{test,spec}.{js,mjs,cjs,jsx,ts,mts,cts,tsx}',
];

const FEATURE = 'drove check --static';
const TS_FILES = /\.(ts|mts|cts|tsx)$/;
const JS_FILES = /\.(js|jsx)$/;

/** typescript-eslint's parser, or undefined when it is not installed (no TS files: no need). */
async function typescriptParser(pkg: string): Promise<Linter.Parser | undefined> {
  try {
    const tseslint = (await import(pkg)) as typeof import('typescript-eslint');
    return tseslint.parser as Linter.Parser;
  } catch (err) {
    const code = (err as { code?: string } | undefined)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/** The config `drove check --static` lints with: the recommended rules, JS and TS parsers. */
export function staticConfig(
  javascript: 'module' | 'commonjs' = 'module',
  parser?: Linter.Parser,
): Linter.Config[] {
  return [
    { name: 'drove/ignores', ignores: DEFAULT_IGNORES },
    {
      name: 'drove/javascript',
      files: ['**/*.{js,mjs,jsx}'],
      languageOptions: {
        ecmaVersion: 'latest',
        sourceType: javascript,
        parserOptions: { ecmaFeatures: { jsx: true } },
      },
    },
    ...(parser
      ? [
          {
            name: 'drove/typescript',
            files: ['**/*.{ts,mts,cts,tsx}'],
            languageOptions: { parser },
          },
        ]
      : []),
    plugin.configs.recommended,
    { name: 'drove/quiet', linterOptions: { reportUnusedDisableDirectives: 'off' } },
  ];
}

function relative(cwd: string, file: string): string {
  return path.relative(cwd, file).split(path.sep).join('/');
}

function problemOf(message: string, fix: string): string {
  const suffix = `${FIX_SEPARATOR}${fix}`;
  return message.endsWith(suffix) ? message.slice(0, -suffix.length) : message;
}

/** Lint `paths` under `cwd` and collect drove's findings. */
export async function checkStatic(options: StaticOptions = {}): Promise<StaticReport> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const paths = options.paths?.length ? options.paths : ['.'];
  for (const p of paths) {
    if (!existsSync(path.resolve(cwd, p)))
      throw new InvalidOptionError({ option: 'PATHS', reason: `no such file or folder: ${p}` });
  }
  const eslintPkg = options.peers?.eslint ?? 'eslint';
  const { ESLint: ESLintClass } = await importPeer(
    eslintPkg,
    FEATURE,
    () => import(eslintPkg) as Promise<typeof import('eslint')>,
  );
  const parser = await typescriptParser(options.peers?.typescriptEslint ?? 'typescript-eslint');
  const lint = async (files: string[], javascript: 'module' | 'commonjs') => {
    const eslint: ESLint = new ESLintClass({
      cwd,
      overrideConfigFile: true,
      overrideConfig: staticConfig(javascript, parser),
      errorOnUnmatchedPattern: false,
      warnIgnored: false,
    });
    return eslint.lintFiles(files);
  };
  const results = await lint(paths, 'module');
  // A .js file is parsed as an ES module first (CommonJS code nearly always parses as one);
  // one that does not (top-level `return`, `with`, sloppy-mode syntax) gets a second try as CommonJS.
  const unparsed = results.filter(
    (r) => JS_FILES.test(r.filePath) && r.messages.some((m) => m.fatal),
  );
  if (unparsed.length > 0) {
    const retried = await lint(
      unparsed.map((r) => r.filePath),
      'commonjs',
    );
    for (const again of retried) {
      if (again.messages.some((m) => m.fatal)) continue;
      const at = results.findIndex((r) => r.filePath === again.filePath);
      if (at !== -1) results[at] = again;
    }
  }
  const report: StaticReport = { files: results.length, findings: [], failures: [] };
  let typescriptUnparsed = false;
  for (const result of results) {
    const file = relative(cwd, result.filePath);
    for (const message of result.messages) {
      // Not ours: a configuration comment for a rule this config does not have, and the like.
      if (!message.fatal && !message.ruleId?.startsWith('drove/')) continue;
      if (message.fatal || !message.ruleId) {
        if (TS_FILES.test(file) && !parser) typescriptUnparsed = true;
        report.failures.push({ file, line: message.line ?? 0, message: message.message });
        continue;
      }
      const fix = fixOf(message.ruleId, message.messageId) ?? '';
      report.findings.push({
        file,
        line: message.line,
        column: message.column,
        rule: message.ruleId,
        problem: problemOf(message.message, fix),
        fix,
      });
    }
  }
  // Without typescript-eslint, TS files went through the JavaScript parser: say what to install.
  if (typescriptUnparsed) {
    throw new MissingPeerError({
      pkg: 'typescript-eslint',
      feature: `${FEATURE} on TypeScript files`,
    });
  }
  return report;
}

/** The report as text: one block per finding, then a summary line. */
export function formatStatic(report: StaticReport): string {
  const lines: string[] = [];
  for (const f of report.findings) {
    lines.push(
      `${f.file}:${f.line}:${f.column}  ${f.rule}`,
      `  ${f.problem}`,
      `  fix: ${f.fix}`,
      '',
    );
  }
  for (const f of report.failures) lines.push(`${f.file}:${f.line}  could not check: ${f.message}`);
  if (report.failures.length > 0) lines.push('');
  const where = `${report.files} file${report.files === 1 ? '' : 's'}`;
  const n = report.findings.length;
  const files = new Set(report.findings.map((f) => f.file)).size;
  lines.push(
    n === 0
      ? `drove check --static: no findings in ${where}`
      : `drove check --static: ${n} finding${n === 1 ? '' : 's'} in ${files} of ${where}`,
  );
  if (report.failures.length > 0)
    lines.push(`drove check --static: ${report.failures.length} file(s) could not be checked`);
  return `${lines.join('\n')}\n`;
}

/** The exit code for CI: 0 clean, 1 findings, 2 the check is incomplete. */
export function exitCodeOf(report: StaticReport): 0 | 1 | 2 {
  if (report.failures.length > 0 || report.files === 0) return 2;
  return report.findings.length > 0 ? 1 : 0;
}
