/**
 * `drove build`: compile the configured entry points with esbuild into a build folder of
 * content-hashed files, precompressed siblings and `manifest.json`. Deterministic: the same sources
 * give the same bytes, so a build can be checked, cached and promoted between environments.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Message } from 'esbuild';
import { BuildConfigError, BuildFailedError } from '../errors.js';
import { brotli, gzip, isCompressible } from './compress.js';
import { type AssetsConfig, loadAssetsConfig } from './config.js';
import { MANIFEST_FILE, type Manifest, type ManifestFile, serializeManifest } from './manifest.js';

/** Options of {@link buildAssets}. */
export interface BuildAssetsOptions {
  /** Project root holding package.json / drove.config.json. Default `process.cwd()`. */
  root?: string;
  /** A validated configuration to use instead of reading the project's (see `validateAssetsConfig`). */
  config?: AssetsConfig;
}

/** One file written by the build. */
export interface BuiltFile extends ManifestFile {
  /** Path relative to the build folder, with `/` separators. */
  path: string;
}

/** What {@link buildAssets} produced. */
export interface BuildAssetsResult {
  /** Absolute path of the build folder. */
  outdir: string;
  manifest: Manifest;
  /** Every output (not counting `.br`/`.gz` siblings and the manifest), sorted by path. */
  files: BuiltFile[];
  /** esbuild warnings, formatted as `file:line:column: text`. */
  warnings: string[];
}

const FILE_LOADERS = ['.png', '.jpg', '.jpeg', '.gif', '.webp', '.avif', '.svg', '.ico']
  .concat(['.woff', '.woff2', '.ttf', '.otf', '.eot'])
  .reduce<Record<string, 'file'>>((acc, ext) => Object.assign(acc, { [ext]: 'file' }), {});

/**
 * Build the project's assets. Replaces the build folder atomically; refuses to replace a folder
 * that is not an earlier drove build.
 *
 * @example
 * ```ts
 * import { buildAssets } from 'drovejs/assets';
 * const { manifest } = await buildAssets({ root: process.cwd() });
 * console.log(manifest.entries['app.js']); // app.3F2A1B9C.js
 * ```
 */
export async function buildAssets(options: BuildAssetsOptions = {}): Promise<BuildAssetsResult> {
  const root = path.resolve(options.root ?? process.cwd());
  const config = options.config ?? loadAssetsConfig(root);
  assertReplaceable(config);
  // Loaded lazily: the runtime half of drove/assets never pulls the compiler in.
  const esbuild = await import('esbuild');
  const names = Object.keys(config.entries).sort();
  let result: import('esbuild').BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      absWorkingDir: config.root,
      entryPoints: names.map((name) => ({ in: config.entries[name]!, out: stripExt(name) })),
      outdir: config.outdir,
      entryNames: '[dir]/[name].[hash]',
      chunkNames: 'chunks/[name].[hash]',
      assetNames: '[name].[hash]',
      publicPath: config.publicPath,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'browser',
      target: config.target,
      minify: config.minify,
      sourcemap: config.sourcemap ? 'linked' : false,
      charset: 'utf8',
      loader: FILE_LOADERS,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (!Array.isArray(errors)) throw err;
    throw new BuildFailedError({ reason: errors.map(formatMessage).join('; ') }, { cause: err });
  }

  const relOut = (abs: string) => path.relative(config.outdir, abs).split(path.sep).join('/');
  const outputs = new Map(result.outputFiles.map((f) => [relOut(f.path), f.contents]));
  const manifest: Manifest = { version: 1, publicPath: config.publicPath, entries: {}, files: {} };
  const nameBySource = new Map(names.map((name) => [config.entries[name]!, name]));
  for (const [metaPath, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const name = nameBySource.get(meta.entryPoint);
    if (name === undefined) continue;
    manifest.entries[name] = relOut(path.resolve(config.root, metaPath));
    // A JS entry that imports CSS gets a CSS bundle of the same base name: expose it too.
    const cssName = `${stripExt(name)}.css`;
    if (meta.cssBundle && !(cssName in config.entries)) {
      manifest.entries[cssName] = relOut(path.resolve(config.root, meta.cssBundle));
    }
  }

  const staging = `${config.outdir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const files: BuiltFile[] = [];
  try {
    for (const rel of [...outputs.keys()].sort()) {
      const contents = outputs.get(rel)!;
      const file = path.join(staging, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, contents);
      const facts: ManifestFile = { size: contents.byteLength, integrity: sri(contents) };
      if (isCompressible(rel)) {
        const br = brotli(contents);
        const gz = gzip(contents);
        if (br.byteLength < contents.byteLength) {
          writeFileSync(`${file}.br`, br);
          facts.br = br.byteLength;
        }
        if (gz.byteLength < contents.byteLength) {
          writeFileSync(`${file}.gz`, gz);
          facts.gz = gz.byteLength;
        }
      }
      manifest.files[rel] = facts;
      files.push({ path: rel, ...facts });
    }
    writeFileSync(path.join(staging, MANIFEST_FILE), serializeManifest(manifest));
    swapIn(staging, config.outdir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return {
    outdir: config.outdir,
    manifest,
    files,
    warnings: result.warnings.map(formatMessage),
  };
}

/** Only an empty folder or an earlier build (it has a manifest) may be replaced. */
function assertReplaceable(config: AssetsConfig): void {
  const { outdir } = config;
  if (!existsSync(outdir) || existsSync(path.join(outdir, MANIFEST_FILE))) return;
  if (readdirSync(outdir).length === 0) return;
  throw new BuildConfigError({
    source: config.source,
    reason: `field "outdir": ${outdir} exists, is not empty and holds no ${MANIFEST_FILE}; refusing to replace it (choose an empty or new folder)`,
  });
}

/** Replace `outdir` with `staging` so readers see the old build or the new one, never a mix. */
function swapIn(staging: string, outdir: string): void {
  mkdirSync(path.dirname(outdir), { recursive: true });
  if (!existsSync(outdir)) {
    renameSync(staging, outdir);
    return;
  }
  const old = `${staging}.old`;
  renameSync(outdir, old);
  renameSync(staging, outdir);
  rmSync(old, { recursive: true, force: true });
}

function sri(contents: Uint8Array): string {
  return `sha384-${createHash('sha384').update(contents).digest('base64')}`;
}

function stripExt(name: string): string {
  return name.replace(/\.(?:js|css)$/, '');
}

function formatMessage(message: Message): string {
  const loc = message.location;
  const where = loc ? `${loc.file}:${loc.line}:${loc.column}: ` : '';
  return `${where}${message.text}`;
}
