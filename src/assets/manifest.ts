/**
 * `manifest.json`, the one file the build writes for the runtime: which hashed file each logical
 * name became, and what every output weighs. Written with sorted keys so equal builds are equal
 * bytes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AssetsNotBuiltError, BuildConfigError } from '../errors.js';

/** The manifest's file name inside the build folder. */
export const MANIFEST_FILE = 'manifest.json';

/** Facts about one output file of the build. */
export interface ManifestFile {
  /** Size in bytes of the file itself. */
  size: number;
  /** Subresource Integrity value (`sha384-…`), usable in `<script integrity>`. */
  integrity: string;
  /** Size of the precompressed `.br` sibling, when one was written. */
  br?: number;
  /** Size of the precompressed `.gz` sibling, when one was written. */
  gz?: number;
}

/** The parsed `manifest.json`. */
export interface Manifest {
  version: 1;
  /** The URL prefix the build was made for (baked into CSS/JS references to images and fonts). */
  publicPath: string;
  /** Logical name -> path of the hashed output, relative to the build folder. */
  entries: Record<string, string>;
  /** Every output (hashed, content-addressed, so safe to cache forever) -> facts. */
  files: Record<string, ManifestFile>;
}

/** Serialise a manifest deterministically: keys sorted at every level, two-space indent. */
export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(sortKeys(manifest), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  }
  return sorted;
}

/**
 * Read `manifest.json` from a build folder. A missing file is the "did not build" mistake and
 * throws `DROVE_ERR_ASSETS_NOT_BUILT`; a malformed one throws `DROVE_ERR_BUILD_CONFIG`.
 */
export function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new AssetsNotBuiltError({ manifest: file }, { cause: err });
    }
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BuildConfigError({ source: file, reason: 'manifest is not valid JSON; rebuild' });
  }
  const m = parsed as Partial<Manifest>;
  if (
    m?.version !== 1 ||
    typeof m.publicPath !== 'string' ||
    typeof m.entries !== 'object' ||
    m.entries === null ||
    typeof m.files !== 'object' ||
    m.files === null
  ) {
    throw new BuildConfigError({
      source: file,
      reason: 'not a drove asset manifest (version 1); rebuild with `drove build`',
    });
  }
  return m as Manifest;
}
