/**
 * `drove check --hosts`: every instance runs as if on its own machine, in its own copy of the app
 * folder (node_modules linked, not copied) with its own TMPDIR and HOME, so state on local disk
 * (an upload folder, a `sqlite:` file under the app folder) is not shared between instances.
 * @module
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

/** What is never copied into a host: linked instead, or the runner's own files. */
const SKIP = new Set(['node_modules', '.git', '.drove']);

/** The nearest node_modules at or above `dir`, where the app's packages resolve from. */
export function nearestNodeModules(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const candidate = join(d, 'node_modules');
    if (existsSync(candidate)) return realpathSync(candidate);
    if (dirname(d) === d) return undefined;
  }
}

/** The hosts of one check, under one temporary folder. */
export class Hosts {
  readonly root: string;
  readonly #app: string;
  readonly #modules: string | undefined;
  readonly #made = new Set<string>();

  constructor(app: string) {
    this.#app = resolve(app);
    this.#modules = nearestNodeModules(this.#app);
    this.root = mkdtempSync(join(tmpdir(), 'drove-check-hosts-'));
  }

  /**
   * Make the host of instance `name` (`web.1`): `app/` (a copy), `tmp/`, `home/`. A replacement of
   * the same instance after a restart finds the same host, as a restarted process finds its disk.
   */
  prepare(name: string): void {
    if (this.#made.has(name)) return;
    const host = join(this.root, name);
    const app = join(host, 'app');
    cpSync(this.#app, app, {
      recursive: true,
      filter: (src) => src === this.#app || !SKIP.has(basename(src)),
    });
    if (this.#modules) symlinkSync(this.#modules, join(app, 'node_modules'), 'dir');
    mkdirSync(join(host, 'tmp'));
    mkdirSync(join(host, 'home'));
    this.#made.add(name);
  }

  /** A Procfile command rewritten to run in its instance's host (`$PS` names the instance). */
  wrap(command: string): string {
    const host = `${shellQuote(this.root)}/"$PS"`;
    return (
      `cd ${host}/app && export TMPDIR=${host}/tmp HOME=${host}/home && ` +
      `eval ${shellQuote(command)}`
    );
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
