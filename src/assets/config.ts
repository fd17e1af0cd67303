/**
 * The build configuration: one `assets` object, read from the `drove` field of package.json or
 * from `drove.config.json` (never both, so there is one place to look), and validated here so a
 * typo fails the build with the field's name instead of producing a half-empty build folder.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BuildConfigError } from '../errors.js';

/** The `assets` object as written by the user. Every field but `entries` is optional. */
export interface AssetsConfigInput {
  /** Logical name (what `assetUrl()` takes) -> source file, relative to the project root. */
  entries: Record<string, string>;
  /** Build folder, relative to the project root. Default `build/assets`. */
  outdir?: string;
  /** URL prefix the build folder is served under. Default `/assets/`. Must end with `/`. */
  publicPath?: string;
  /** Minify JS and CSS. Default `true`. */
  minify?: boolean;
  /** Write linked `.map` files next to the outputs. Default `false`. */
  sourcemap?: boolean;
  /** esbuild target(s), e.g. `"es2022"` or `["chrome120", "safari17"]`. Default `"es2022"`. */
  target?: string | string[];
}

/** The validated configuration, with defaults filled in and paths made absolute. */
export interface AssetsConfig {
  /** Project root (where package.json lives). */
  root: string;
  /** Where the configuration came from, for messages. */
  source: string;
  entries: Record<string, string>;
  outdir: string;
  publicPath: string;
  minify: boolean;
  sourcemap: boolean;
  target: string[];
}

const KNOWN_FIELDS = new Set(['entries', 'outdir', 'publicPath', 'minify', 'sourcemap', 'target']);
const SCRIPT_SOURCE = /\.(?:[cm]?[jt]s|[jt]sx)$/;

/** The file name of the optional stand-alone configuration file. */
export const CONFIG_FILE = 'drove.config.json';

/**
 * Read and validate the build configuration of the project at `root`.
 *
 * @example
 * ```ts
 * const config = loadAssetsConfig(process.cwd());
 * console.log(config.outdir); // /app/build/assets
 * ```
 */
export function loadAssetsConfig(root: string): AssetsConfig {
  const fromPackage = readAssetsField(path.join(root, 'package.json'), (json) => {
    const drove = (json as { drove?: unknown }).drove;
    return isObject(drove) ? drove.assets : undefined;
  });
  const fromFile = readAssetsField(path.join(root, CONFIG_FILE), (json) =>
    isObject(json) ? json.assets : undefined,
  );
  if (fromPackage.value !== undefined && fromFile.value !== undefined) {
    throw new BuildConfigError({
      source: `${fromPackage.source} and ${fromFile.source}`,
      reason: '"assets" is configured in both places; keep exactly one',
    });
  }
  const found = fromFile.value !== undefined ? fromFile : fromPackage;
  if (found.value === undefined) {
    throw new BuildConfigError({
      source: `${fromPackage.source} (field "drove.assets") or ${fromFile.source} (field "assets")`,
      reason: 'no asset configuration found',
    });
  }
  return validateAssetsConfig(found.value, { root, source: found.source });
}

function readAssetsField(
  file: string,
  pick: (json: unknown) => unknown,
): { source: string; value: unknown } {
  const source = path.basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { source, value: undefined };
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BuildConfigError({ source, reason: `not valid JSON (${(err as Error).message})` });
  }
  return { source, value: pick(json) };
}

/**
 * Validate a configuration object (as it would appear under `drove.assets`) and fill defaults.
 * Throws `DROVE_ERR_BUILD_CONFIG` naming the offending field.
 *
 * @example
 * ```ts
 * validateAssetsConfig({ entries: { 'app.js': 'src/client/app.ts' } }, { root: '/app', source: 'test' });
 * ```
 */
export function validateAssetsConfig(
  input: unknown,
  where: { root: string; source: string },
): AssetsConfig {
  const { root, source } = where;
  const fail = (field: string, reason: string): never => {
    throw new BuildConfigError({ source, reason: `field "${field}" ${reason}` });
  };
  if (!isObject(input)) return fail('assets', 'must be an object');
  for (const key of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(key))
      fail(key, `is not a known option (${[...KNOWN_FIELDS].join(', ')})`);
  }
  const { entries, outdir = 'build/assets', publicPath = '/assets/' } = input;
  const { minify = true, sourcemap = false, target = 'es2022' } = input;

  if (!isObject(entries) || Object.keys(entries).length === 0) {
    fail('entries', 'must be a non-empty object of "name.js" or "name.css" -> source file');
  }
  const checkedEntries: Record<string, string> = {};
  const sources = new Set<string>();
  for (const [name, src] of Object.entries(entries as Record<string, unknown>)) {
    const field = `entries.${name}`;
    if (!/^(?:[\w-]+\/)*[\w-]+\.(?:js|css)$/.test(name)) {
      fail(field, 'must be a relative name ending in .js or .css (letters, digits, _ - /)');
    }
    if (typeof src !== 'string' || src === '') fail(field, 'must be a source file path');
    const normal = path.posix.normalize((src as string).replaceAll('\\', '/'));
    if (path.isAbsolute(normal) || normal.startsWith('../')) {
      fail(field, 'must be a path inside the project');
    }
    const wantsCss = name.endsWith('.css');
    if (wantsCss !== normal.endsWith('.css') || (!wantsCss && !SCRIPT_SOURCE.test(normal))) {
      fail(
        field,
        `cannot be built from ${quoteName(normal)}: ${wantsCss ? 'a .css entry needs a .css source' : 'a .js entry needs a .js/.ts/.jsx/.tsx source'}`,
      );
    }
    if (sources.has(normal)) fail(field, `repeats the source ${quoteName(normal)}`);
    sources.add(normal);
    checkedEntries[name] = normal;
  }
  if (typeof outdir !== 'string' || outdir === '') fail('outdir', 'must be a non-empty path');
  const absOutdir = path.resolve(root, outdir as string);
  const relOutdir = path.relative(root, absOutdir);
  if (relOutdir === '' || relOutdir.startsWith('..') || path.isAbsolute(relOutdir)) {
    fail('outdir', 'must be a folder inside the project, not the project root itself');
  }
  if (typeof publicPath !== 'string' || !publicPath.endsWith('/')) {
    fail('publicPath', 'must be a string ending with "/" (e.g. "/assets/")');
  }
  if (typeof minify !== 'boolean') fail('minify', 'must be true or false');
  if (typeof sourcemap !== 'boolean') fail('sourcemap', 'must be true or false');
  const targets = typeof target === 'string' ? [target] : target;
  if (
    !Array.isArray(targets) ||
    targets.length === 0 ||
    !targets.every((t) => typeof t === 'string' && t !== '')
  ) {
    fail('target', 'must be a string or an array of strings (e.g. "es2022")');
  }
  return {
    root,
    source,
    entries: checkedEntries,
    outdir: absOutdir,
    publicPath: publicPath as string,
    minify: minify as boolean,
    sourcemap: sourcemap as boolean,
    target: targets as string[],
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function quoteName(value: string): string {
  return JSON.stringify(value);
}
