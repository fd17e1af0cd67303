/**
 * The scratch space of one transaction: a private directory and in-memory maps that are thrown
 * away when the transaction ends. Everything written through it counts against two quotas, one
 * per transaction and one for the whole process.
 * @module
 */
import { mkdirSync, rmSync } from 'node:fs';
import { type FileHandle, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Writable } from 'node:stream';
import {
  ScratchAbortedError,
  ScratchOutsideError,
  ScratchPathError,
  ScratchQuotaError,
} from '../errors.js';
import { type DownloadOptions, type DownloadResult, download } from './download.js';
import type { ResolvedOptions } from './options.js';
import { newDirName } from './owner.js';
import { liveDirs } from './sweep.js';

/**
 * One transaction's scratch space. Get it from `withScratch`, `useScratch()` inside a middleware
 * or `scratchJob`. Nothing in it outlives the transaction: do not keep paths or values from it.
 */
export interface Scratch {
  /** Unique id of this transaction (also the directory's base name). */
  readonly id: string;
  /** The transaction's private directory (mode 0700), created on first access. */
  readonly dir: string;
  /**
   * Aborts when the transaction is aborted (timeout, caller's signal, client went away) or ends.
   * Pass it to long work so that it stops with the transaction.
   */
  readonly signal: AbortSignal;
  /** Bytes currently held by this transaction's files (as written through this object). */
  readonly bytesUsed: number;
  /** A Map private to this transaction; cleared when it ends. */
  readonly map: Map<unknown, unknown>;
  /**
   * Absolute path of `name` inside the directory. `name` may contain sub-directories; anything
   * that would leave the directory (`..`, absolute paths, NUL) throws DROVE_ERR_SCRATCH_PATH.
   * Files written to this path by other tools do not count against the quotas.
   */
  file(name: string): string;
  /** Write a whole file (replacing it), counted against the quotas. Resolves to its path. */
  write(name: string, data: string | Uint8Array): Promise<string>;
  /** A write stream to a new file, counted against the quotas chunk by chunk. */
  createWriteStream(name: string): Writable;
  /** Remove one file early and give its bytes back to the quotas. */
  remove(name: string): Promise<void>;
  /**
   * Stream a URL to a file in the directory, with a size cap, a deadline, an optional SHA-256
   * check and an optional guard on the addresses connected to. See `DownloadOptions`.
   */
  download(url: string | URL, options?: DownloadOptions): Promise<DownloadResult>;
  /**
   * Compute `fn()` once per transaction for `key`; later calls return the same value (for a
   * promise, the same promise; a rejected promise is forgotten so the next call retries).
   */
  memo<T>(key: unknown, fn: () => T): T;
}

/** Bytes held by all live transactions of this process. */
let processBytes = 0;

/** Current per-process scratch usage in bytes (for metrics and tests). */
export function processScratchBytes(): number {
  return processBytes;
}

let exitHookInstalled = false;

/** On a normal exit, remove what is still live; a sweep handles the abnormal ones. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

type State = 'open' | 'aborted' | 'closed';

/** The one implementation of `Scratch`; adapters only decide when it opens and closes. */
export class ScratchSpace implements Scratch {
  readonly map: Map<unknown, unknown> = new Map();
  /** Named on first use: most requests never touch their scratch space, so they pay nothing. */
  #id: string | undefined;
  #path: string | undefined;
  readonly #options: ResolvedOptions;
  /** Created on first use of `signal`: most requests never look, and aborting costs an Error. */
  #controller: AbortController | undefined;
  readonly #memo = new Map<unknown, unknown>();
  readonly #sizes = new Map<string, number>();
  #created = false;
  #bytes = 0;
  #state: State = 'open';
  #abortReason = '';
  #closing: Promise<void> | undefined;
  /** File operations in flight; closing waits for them so none can recreate the directory. */
  readonly #inflight = new Set<Promise<unknown>>();
  /** Write streams still open; closing destroys them so no file handle outlives the directory. */
  readonly #streams = new Set<Writable>();

  constructor(options: ResolvedOptions) {
    this.#options = options;
  }

  get id(): string {
    this.#id ??= newDirName();
    return this.#id;
  }

  /** Where the directory is (or will be); does not create it. */
  get #where(): string {
    this.#path ??= join(this.#options.dir, this.id);
    return this.#path;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#state !== 'open') this.#controller.abort(this.#endReason());
    }
    return this.#controller.signal;
  }

  get bytesUsed(): number {
    return this.#bytes;
  }

  get dir(): string {
    this.#assertOpen('dir');
    const path = this.#where;
    if (!this.#created) {
      liveDirs.add(path);
      installExitHook();
      // Not recursive: if the name exists already (say, planted in a shared /tmp), fail loudly
      // instead of writing into a directory someone else controls.
      try {
        mkdirSync(path, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        mkdirSync(this.#options.dir, { recursive: true }); // the root vanished; make it again
        mkdirSync(path, { mode: 0o700 });
      }
      this.#created = true;
    }
    return path;
  }

  file(name: string): string {
    this.#assertOpen('file()');
    const path = insidePath(this.#where, name);
    void this.dir;
    return path;
  }

  async write(name: string, data: string | Uint8Array): Promise<string> {
    const path = this.file(name);
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    this.#resize(path, size);
    await this.#track(mkdir(dirname(path), { recursive: true }).then(() => writeFile(path, data)));
    return path;
  }

  createWriteStream(name: string): Writable {
    const path = this.file(name);
    const space = this;
    let handle: FileHandle | undefined;
    const stream = new Writable({
      construct(callback) {
        space.#resize(path, 0);
        space
          .#track(mkdir(dirname(path), { recursive: true }).then(() => open(path, 'w', 0o600)))
          .then((h) => {
            handle = h;
            callback();
          }, callback);
      },
      write(chunk: Buffer, _encoding, callback) {
        try {
          space.#assertOpen('createWriteStream()');
          space.#resize(path, (space.#sizes.get(path) ?? 0) + chunk.byteLength);
        } catch (err) {
          return callback(err as Error);
        }
        space.#track(handle!.write(chunk)).then(() => callback(), callback);
      },
      final(callback) {
        const h = handle;
        handle = undefined;
        (h ? h.close() : Promise.resolve()).then(() => callback(), callback);
      },
      destroy(error, callback) {
        const h = handle;
        handle = undefined;
        const closed = h ? h.close().catch(() => {}) : Promise.resolve();
        // A failed write leaves no half file behind and gives its bytes back at once.
        const cleaned = error ? closed.then(() => space.#discard(path)) : closed;
        cleaned.then(() => callback(error));
      },
    });
    this.#streams.add(stream);
    stream.once('close', () => this.#streams.delete(stream));
    return stream;
  }

  async remove(name: string): Promise<void> {
    const path = this.file(name);
    await this.#discard(path);
  }

  download(url: string | URL, options: DownloadOptions = {}): Promise<DownloadResult> {
    this.#assertOpen('download()');
    return download(this, url, options);
  }

  memo<T>(key: unknown, fn: () => T): T {
    this.#assertOpen('memo()');
    if (this.#memo.has(key)) return this.#memo.get(key) as T;
    const value = fn();
    this.#memo.set(key, value);
    if (value instanceof Promise) {
      value.catch(() => {
        if (this.#memo.get(key) === value) this.#memo.delete(key);
      });
    }
    return value;
  }

  /** Abort the transaction: the signal fires and every later call throws SCRATCH_ABORTED. */
  abort(reason: string): void {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    this.#abortReason = reason;
    this.#controller?.abort(this.#endReason());
  }

  /** Whether `abort` was called; its reason. */
  get abortReason(): string | undefined {
    return this.#state === 'aborted' ? this.#abortReason : undefined;
  }

  /** End the transaction: forget the maps, give back the bytes, remove the directory. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closed';
      this.#controller?.abort(this.#endReason());
    }
    this.map.clear();
    this.#memo.clear();
    this.#sizes.clear();
    processBytes -= this.#bytes;
    this.#bytes = 0;
    for (const stream of this.#streams) stream.destroy();
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    try {
      if (this.#path !== undefined && this.#created) {
        await rm(this.#path, { recursive: true, force: true, maxRetries: 3 });
        liveDirs.delete(this.#path);
      }
    } catch (err) {
      // Left for the exit hook or the next sweep; never turn a finished transaction into a failure.
      process.emitWarning(`could not remove scratch directory ${this.#path}: ${String(err)}`, {
        code: 'DROVE_SCRATCH_CLEANUP',
      });
    }
  }

  #track<T>(operation: Promise<T>): Promise<T> {
    this.#inflight.add(operation);
    const forget = () => this.#inflight.delete(operation);
    operation.then(forget, forget);
    return operation;
  }

  #endReason(): Error {
    const reason = this.#state === 'aborted' ? this.#abortReason : 'the transaction ended';
    return new ScratchAbortedError({ reason });
  }

  #assertOpen(call: string): void {
    if (this.#state === 'aborted') throw new ScratchAbortedError({ reason: this.#abortReason });
    if (this.#state === 'closed') throw new ScratchOutsideError({ call: `scratch.${call}` });
  }

  /** Account for `path` now holding `size` bytes; throws before anything is written. */
  #resize(path: string, size: number): void {
    const delta = size - (this.#sizes.get(path) ?? 0);
    if (delta > 0) {
      const { maxBytes, processMaxBytes } = this.#options;
      if (this.#bytes + delta > maxBytes) {
        throw new ScratchQuotaError({ scope: 'transaction', limit: maxBytes });
      }
      if (processBytes + delta > processMaxBytes) {
        throw new ScratchQuotaError({ scope: 'process', limit: processMaxBytes });
      }
    }
    this.#bytes += delta;
    processBytes += delta;
    this.#sizes.set(path, size);
  }

  async #discard(path: string): Promise<void> {
    const size = this.#sizes.get(path);
    if (size !== undefined && this.#state !== 'closed') {
      this.#bytes -= size;
      processBytes -= size;
      this.#sizes.delete(path);
    }
    await rm(path, { force: true });
  }
}

/**
 * Resolve `name` inside `dir`, or throw DROVE_ERR_SCRATCH_PATH. The directory itself is not a
 * valid file name either.
 */
export function insidePath(dir: string, name: string): string {
  if (typeof name !== 'string' || name === '' || name.includes('\0')) {
    throw new ScratchPathError({ name: String(name) });
  }
  const path = resolve(dir, name);
  const rel = relative(dir, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || resolve(dir, rel) !== path) {
    throw new ScratchPathError({ name });
  }
  return path;
}
