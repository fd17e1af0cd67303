/**
 * The table of servable files, built once at start-up by walking the build folder. Requests are
 * answered by exact lookup in this table, never by joining a request path onto the file system,
 * so `..`, encoded dots, backslashes or NUL bytes cannot reach a file that was not listed here.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { contentTypeFor } from './content-type.js';
import { MANIFEST_FILE } from './manifest.js';
import type { Coding } from './negotiate.js';

/** One representation of a file (the file itself, or its `.br`/`.gz` sibling). */
export interface Representation {
  /** Absolute path on disk (inside the build folder). */
  file: string;
  size: number;
  /** Strong entity tag, derived from the bytes. */
  etag: string;
  /** The bytes, when small enough to keep in memory; otherwise streamed from `file`. */
  body: Buffer | null;
  /** Ready-made response headers (shared; do not mutate). */
  headers200: Readonly<Record<string, string>>;
  headers304: Readonly<Record<string, string>>;
}

/** A servable file and its precompressed variants. */
export interface TableEntry {
  codings: Coding[];
  representations: Partial<Record<Coding, Representation>> & { identity: Representation };
}

/** Limits on what is held in memory. */
export interface CacheLimits {
  maxCachedFileBytes: number;
  maxCacheBytes: number;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'public, max-age=0, must-revalidate';

/**
 * Walk `dir` and build the lookup table, keyed by path relative to `dir` with `/` separators.
 * `hashed` lists the content-hashed outputs (from the manifest): those are cached forever.
 */
export function buildFileTable(
  dir: string,
  hashed: ReadonlySet<string>,
  limits: CacheLimits,
): Map<string, TableEntry> {
  const root = realpathSync(dir);
  const found = new Map<string, string>();
  walk(root, root, '', found);
  const budget = { left: limits.maxCacheBytes };
  const table = new Map<string, TableEntry>();
  for (const [rel, abs] of [...found].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (rel === MANIFEST_FILE || isVariantOf(rel, found)) continue;
    const type = contentTypeFor(rel);
    const cacheControl = hashed.has(rel) ? IMMUTABLE : REVALIDATE;
    const variants: [Coding, string][] = [];
    for (const [coding, suffix] of [
      ['br', '.br'],
      ['gzip', '.gz'],
    ] as const) {
      const variant = found.get(rel + suffix);
      if (variant) variants.push([coding, variant]);
    }
    const vary = variants.length > 0;
    const load = (file: string, coding: Coding) =>
      loadRepresentation(file, coding, { type, cacheControl, vary }, limits, budget);
    const entry: TableEntry = {
      codings: variants.map(([coding]) => coding),
      representations: { identity: load(abs, 'identity') },
    };
    for (const [coding, file] of variants) entry.representations[coding] = load(file, coding);
    table.set(rel, entry);
  }
  return table;
}

function isVariantOf(rel: string, found: Map<string, string>): boolean {
  return (rel.endsWith('.br') || rel.endsWith('.gz')) && found.has(rel.slice(0, -3));
}

/** Collect regular files under `dir`; skip dotfiles, and symlinks that leave the build folder. */
function walk(root: string, dir: string, prefix: string, out: Map<string, string>): void {
  for (const dirent of readdirSync(dir, { withFileTypes: true })) {
    if (dirent.name.startsWith('.')) continue;
    const abs = path.join(dir, dirent.name);
    const rel = prefix + dirent.name;
    if (dirent.isDirectory()) {
      walk(root, abs, `${rel}/`, out);
    } else if (dirent.isFile()) {
      out.set(rel, abs);
    } else if (dirent.isSymbolicLink()) {
      let target: string;
      try {
        target = realpathSync(abs);
      } catch {
        continue; // dangling
      }
      const inside = target.startsWith(root + path.sep);
      if (inside && statSync(target).isFile()) out.set(rel, target);
    }
  }
}

function loadRepresentation(
  file: string,
  coding: Coding,
  meta: { type: string; cacheControl: string; vary: boolean },
  limits: CacheLimits,
  budget: { left: number },
): Representation {
  const size = statSync(file).size;
  const keep = size <= limits.maxCachedFileBytes && size <= budget.left;
  const body = keep ? readFileSync(file) : null;
  if (body) budget.left -= size;
  const etag = `"${(body ? hashBuffer(body) : hashFile(file)).slice(0, 27)}"`;
  const shared: Record<string, string> = { 'cache-control': meta.cacheControl, etag };
  if (meta.vary) shared.vary = 'Accept-Encoding';
  const headers200: Record<string, string> = {
    'content-type': meta.type,
    'content-length': String(size),
    ...shared,
    'x-content-type-options': 'nosniff',
  };
  if (coding !== 'identity') headers200['content-encoding'] = coding;
  return {
    file,
    size,
    etag,
    body,
    headers200: Object.freeze(headers200),
    headers304: Object.freeze(shared),
  };
}

function hashBuffer(data: Buffer): string {
  return createHash('sha256').update(data).digest('base64url');
}

function hashFile(file: string): string {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(file, 'r');
  try {
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) {
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('base64url');
}
