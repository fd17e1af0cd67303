/**
 * Finding the formation a command such as `drove ps` means: the control socket of the current
 * directory or of the nearest directory above it that has one, as git looks for `.git`.
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { NotRunningError } from '../errors.js';
import { controlSocketPath } from './control.js';

/**
 * The control socket of the formation running in `cwd` or the nearest directory above it.
 * Throws `DROVE_ERR_NOT_RUNNING` when there is none up to the root.
 *
 * @example
 * ```ts
 * const socket = findControlSocket('/srv/app/src'); // '/srv/app/.drove/control.sock'
 * ```
 */
export function findControlSocket(cwd = process.cwd()): string {
  const start = resolve(cwd);
  for (let dir = start; ; dir = dirname(dir)) {
    const socket = controlSocketPath(dir);
    if (existsSync(socket)) return socket;
    if (dirname(dir) === dir) break;
  }
  throw new NotRunningError({ dir: start });
}
