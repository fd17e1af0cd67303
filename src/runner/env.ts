/**
 * Environment for the formation: `.env` files parsed by the `dotenv` package, layered under the
 * real environment.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import { EnvFileError } from '../errors.js';

/**
 * Parse one `.env` file's text with dotenv's `parse()` (no `${VAR}` interpolation, `export `
 * prefixes stripped, the last duplicate wins).
 *
 * @example
 * ```ts
 * parseEnv('A=1\nB="two words"\n'); // { A: '1', B: 'two words' }
 * ```
 */
export function parseEnv(text: string | Buffer): Record<string, string> {
  return parse(text);
}

/** The environment a formation runs with, and where each file's values came from. */
export interface LoadedEnv {
  /** The merged environment: files in order (later wins), then the real environment on top. */
  env: Record<string, string>;
  /** The files that were read. */
  files: string[];
}

/**
 * Layer `.env` files under the real environment. Precedence, lowest to highest: first file, ...,
 * last file, real environment. With no `files` given, `.env` is read when it exists; a file named
 * explicitly must exist.
 *
 * @example
 * ```ts
 * const { env } = loadEnv(['.env', '.env.local'], process.env);
 * ```
 */
export function loadEnv(
  files: string[] | undefined,
  realEnv: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): LoadedEnv {
  const wanted = files ?? (existsSync(`${cwd}/.env`) ? ['.env'] : []);
  const merged: Record<string, string> = {};
  for (const file of wanted) {
    let text: Buffer;
    try {
      text = readFileSync(file.startsWith('/') ? file : `${cwd}/${file}`);
    } catch (err) {
      throw new EnvFileError({ file, reason: (err as Error).message }, { cause: err });
    }
    Object.assign(merged, parseEnv(text));
  }
  for (const [key, value] of Object.entries(realEnv)) {
    if (value !== undefined) merged[key] = value;
  }
  return { env: merged, files: wanted };
}

/** Split `-e a,b` (also accepts repeated flags already split by the CLI). */
export function splitList(values: string[] | undefined): string[] | undefined {
  if (!values) return undefined;
  return values.flatMap((v) => v.split(',')).filter((v) => v.length > 0);
}
