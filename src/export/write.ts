/**
 * Write an export as a whole or not at all: the files go to a fresh folder beside the target,
 * which then replaces it with renames. A folder drove did not write is never replaced.
 * @module
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExportOutputError } from '../errors.js';
import type { ExportFile } from './files.js';

/** The file that marks a folder as written by `drove export` (so a re-export may replace it). */
export const MARKER = '.drove-export';

/**
 * Replace `dir` with exactly `files`. Throws `DROVE_ERR_EXPORT_OUTPUT`, leaving `dir` as it
 * was, when `dir` holds files and no marker, or cannot be written.
 */
export function writeExport(dir: string, target: string, files: ExportFile[]): void {
  if (existsSync(dir)) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (err) {
      throw new ExportOutputError({ dir, reason: (err as Error).message }, { cause: err });
    }
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new ExportOutputError({
        dir,
        reason: `it holds files that drove export did not write (no ${MARKER}); choose another --out`,
      });
    }
  }
  const parent = dirname(dir);
  let staging: string | undefined;
  try {
    mkdirSync(parent, { recursive: true });
    staging = mkdtempSync(join(parent, `.${basename(dir)}.new-`));
    for (const file of [...files, markerFile(target, files)]) {
      const path = join(staging, file.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.text, { mode: file.mode ?? 0o644 });
    }
    if (existsSync(dir)) {
      const old = mkdtempSync(join(parent, `.${basename(dir)}.old-`));
      renameSync(dir, join(old, 'previous'));
      try {
        renameSync(staging, dir);
      } catch (err) {
        renameSync(join(old, 'previous'), dir); // put the previous export back
        rmSync(old, { recursive: true, force: true });
        throw err;
      }
      rmSync(old, { recursive: true, force: true });
    } else renameSync(staging, dir);
    staging = undefined;
  } catch (err) {
    if (err instanceof ExportOutputError) throw err;
    throw new ExportOutputError({ dir, reason: (err as Error).message }, { cause: err });
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
  }
}

function markerFile(target: string, files: ExportFile[]): ExportFile {
  const list = files.map((f) => f.path).sort();
  return {
    path: MARKER,
    text: `drove export ${target}: this folder is replaced as a whole by the next export.\n${list.join('\n')}\n`,
  };
}
