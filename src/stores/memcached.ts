/**
 * The Memcached store, on memcached 1.6's meta protocol (see docs/stores-memcached.md).
 *
 * Layout of what is written, per entry key `<prefix><key>` (a text key, at most 250 bytes):
 * - a live entry: client flags = OWNED? | owner hash << 2, data = [owner length][owner][value]
 *   when owned, else the value alone; its CAS is its version;
 * - a tombstone: the same key, client flags = TOMBSTONE, no data, TTL = tombstoneTtlMs.
 * An owner's index is one more item (a binary key `<prefix>\0o<owner>`, which no entry key can
 * equal) holding the owner's keys separated by newlines, maintained with CAS retries.
 * @module
 */
import { createHash } from 'node:crypto';
import {
  InvalidOptionError,
  StoreProtocolError,
  StoreUnavailableError,
  ValueTooLargeError,
} from '../errors.js';
import {
  checkKey,
  checkOpen,
  checkOwner,
  checkTtl,
  resolveStoreOptions,
  toValueBuffer,
} from './_utils.js';
import {
  asUnavailable,
  createDeadlineRunner,
  type DeadlineRunner,
  fencedWrite,
} from './deadline.js';
import {
  hash32,
  MemcachedError,
  MetaConnection,
  type MetaReply,
  pickServer,
} from './memcached-client.js';
import type { Store, StoreEntry, StoreOptions, WriteRefusal, WriteResult } from './types.js';

/** Options of the Memcached store. */
export interface MemcachedStoreOptions extends StoreOptions {
  /** Servers; each key lives on one of them, chosen by a stable hash of the key. */
  servers: { host: string; port: number }[];
  /**
   * Shortest life of an owner index, in ms (it also lives at least as long as the longest entry
   * written under it). `touch` cannot extend an index (it does not know the owner), so an entry
   * kept alive by touches alone for longer than this drops out of `ownedBy`. Default 30 days.
   */
  ownerIndexTtlMs?: number;
}

const NAME = 'memcached';
const TOMBSTONE = 1;
const OWNED = 2;
/** memcached reads a TTL above 30 days as an absolute Unix time. */
const MAX_RELATIVE_TTL_S = 30 * 24 * 3600;
/** Room left in an item for its key, owner header and memcached's own item header. */
const ITEM_OVERHEAD = 1024;
/** Above this many members, an index is pruned of dead members before it grows. */
const INDEX_PRUNE_AT = 64;

type Deadline = number;

/**
 * A store on one or more memcached 1.6 servers. Keys are spread over the servers by rendezvous
 * hashing of the key, so adding or removing a server moves about 1/n of the keys (they then read
 * as absent). memcached is a cache: eviction can drop an entry, a tombstone or an owner index at
 * any time, and a restart empties it.
 *
 * @example
 * ```ts
 * import { createMemcachedStore } from 'drovejs/stores';
 * const store = createMemcachedStore({ servers: [{ host: '127.0.0.1', port: 11211 }] });
 * await store.ready();
 * const created = await store.create('sid', 'data', { ttlMs: 30 * 60_000, owner: 'user-1' });
 * ```
 */
export function createMemcachedStore(options: MemcachedStoreOptions): Store {
  return new MemcachedStore(options);
}

class MemcachedStore implements Store {
  readonly name = NAME;
  readonly #options: ReturnType<typeof resolveStoreOptions>;
  readonly #servers: MetaConnection[];
  readonly #ownerIndexTtlS: number;
  #closed = false;
  readonly #run: DeadlineRunner;

  constructor(options: MemcachedStoreOptions) {
    this.#options = resolveStoreOptions(options);
    const { maxValueSize } = this.#options;
    this.#run = createDeadlineRunner(NAME, this.#options.timeoutMs, (err) =>
      toStoreError(err, maxValueSize),
    );
    const ownerIndexTtlMs = options.ownerIndexTtlMs ?? MAX_RELATIVE_TTL_S * 1000;
    if (!Number.isInteger(ownerIndexTtlMs) || ownerIndexTtlMs <= 0) {
      throw new InvalidOptionError({
        option: 'ownerIndexTtlMs',
        reason: `expected a positive integer, got ${ownerIndexTtlMs}`,
      });
    }
    this.#ownerIndexTtlS = Math.ceil(ownerIndexTtlMs / 1000);
    if (!Array.isArray(options.servers) || options.servers.length === 0) {
      throw new InvalidOptionError({ option: 'servers', reason: 'expected at least one server' });
    }
    this.#servers = options.servers.map(
      (s) => new MetaConnection({ host: s.host, port: s.port, timeoutMs: this.#options.timeoutMs }),
    );
  }

  async ready(): Promise<void> {
    checkOpen(NAME, this.#closed);
    await this.#call(async () => {
      await Promise.all(this.#servers.map((s) => s.connect().then(() => s.itemSizeMax())));
    });
  }

  async get(key: string): Promise<StoreEntry | undefined> {
    checkOpen(NAME, this.#closed);
    checkKey(key);
    return this.#call(async () => {
      const reply = await this.#entryOp(key, `v c t f`);
      if (reply.status !== 'VA') return undefined;
      const flags = Number(reply.flags.f);
      if (flags & TOMBSTONE) return undefined;
      const { owner, value } = decodeData(flags, reply.value!);
      return {
        value,
        version: makeVersion(reply.flags.c!, owner),
        expiresAt: expiresAtOf(reply.flags.t),
        owner,
      };
    });
  }

  async create(
    key: string,
    value: Buffer | string,
    options: { ttlMs: number; owner?: string },
  ): Promise<WriteResult> {
    const { data, flags, ttl, owner } = this.#prepareWrite(key, value, options);
    return this.#write('create', async (deadline, sent) => {
      const server = this.#serverOf(this.#entryKey(key));
      await this.#checkItemSize(server, data);
      for (let attempt = 0; attempt < 5; attempt++) {
        const reply = await server.meta(
          `ms ${this.#entryKey(key)} ${data.length} T${ttl.token} F${flags} ME c`,
          data,
          { onSent: sent, deadline },
        );
        if (reply.status === 'HD') {
          if (owner) await this.#indexAdd(owner, key, ttl.seconds, deadline);
          return written(reply, owner, ttl.expiresAt);
        }
        if (reply.status !== 'NS') throw unexpected('ms (add)', reply);
        const state = await this.#stateOf(key);
        if (state === 'gone') return refused('gone');
        // Expired between the add and the read: add again.
        if (state !== 'missing') return refused('exists');
      }
      return refused('exists');
    });
  }

  async update(
    key: string,
    value: Buffer | string,
    options: { version: string; ttlMs: number; owner?: string },
  ): Promise<WriteResult> {
    const { data, flags, ttl, owner, current } = this.#prepareWrite(key, value, options);
    return this.#write('update', async (deadline, sent) => {
      const server = this.#serverOf(this.#entryKey(key));
      await this.#checkItemSize(server, data);
      if (!current) return refused(await this.#refusalOf(key));
      const reply = await server.meta(
        `ms ${this.#entryKey(key)} ${data.length} T${ttl.token} F${flags} C${current.cas} c`,
        data,
        { onSent: sent, deadline },
      );
      if (reply.status === 'HD') {
        if (owner) {
          if (owner === current.owner) await this.#indexRefresh(owner, key, ttl.seconds, deadline);
          else await this.#indexAdd(owner, key, ttl.seconds, deadline);
        }
        return written(reply, owner, ttl.expiresAt);
      }
      if (reply.status === 'NF') return refused('missing');
      if (reply.status !== 'EX') throw unexpected('ms (cas)', reply);
      return refused(await this.#refusalOf(key));
    });
  }

  async touch(key: string, ttlMs: number): Promise<number | undefined> {
    checkOpen(NAME, this.#closed);
    checkKey(key);
    checkTtl(ttlMs);
    const ttl = ttlOf(ttlMs);
    return this.#call(async () => {
      // Expire-only: mg with T moves the TTL and sends no value either way.
      const reply = await this.#entryOp(key, `T${ttl.token} f t`);
      if (reply.status !== 'HD') return undefined;
      if (Number(reply.flags.f) & TOMBSTONE) {
        // We just stretched a tombstone: give it back a tombstone's life.
        await this.#entryOp(key, `T${ttlOf(this.#options.tombstoneTtlMs).token}`);
        return undefined;
      }
      return ttl.seconds > MAX_RELATIVE_TTL_S ? ttl.expiresAt : expiresAtOf(reply.flags.t);
    });
  }

  async delete(key: string): Promise<boolean> {
    checkOpen(NAME, this.#closed);
    checkKey(key);
    return this.#call((deadline) => this.#tombstone(key, () => true, deadline));
  }

  async ownedBy(owner: string): Promise<string[]> {
    checkOpen(NAME, this.#closed);
    checkOwner(owner);
    return this.#call(async () => (await this.#indexRead(owner, true)).sort());
  }

  async deleteOwned(owner: string, options: { except?: string[] } = {}): Promise<number> {
    checkOpen(NAME, this.#closed);
    checkOwner(owner);
    const except = new Set(options.except ?? []);
    return this.#call(async (deadline) => {
      const members = await this.#indexRead(owner, false);
      const mark = ownerMark(owner);
      const results = await Promise.all(
        members
          .filter((key) => !except.has(key))
          .map((key) => this.#tombstone(key, (flags) => flags === mark, deadline)),
      );
      // Prune the index of what was just deleted.
      await this.#indexRead(owner, true);
      return results.filter(Boolean).length;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#servers.map((s) => s.close()));
  }

  // -------------------------------------------------------------------------------------------

  /** Run one store call under the store deadline; internal loops stop at the same deadline. */
  #call<T>(operation: (deadline: Deadline) => Promise<T>): Promise<T> {
    return this.#run(operation);
  }

  /**
   * A write of an entry. memcached has no clock to fence it with, so once the `ms` command has
   * been sent, a lost reply leaves the outcome unknown (DROVE_ERR_STORE_OUTCOME_UNKNOWN): the
   * command may still be sitting in a hung server's socket buffer and land when it resumes. A
   * write that was never sent fails with DROVE_ERR_STORE_UNAVAILABLE. See docs/stores-memcached.md.
   */
  #write(
    operation: string,
    write: (deadline: Deadline, sent: () => void) => Promise<WriteResult>,
  ): Promise<WriteResult> {
    return fencedWrite(NAME, this.#run, this.#options.timeoutMs, { operation, send: write });
  }

  #prepareWrite(
    key: string,
    value: Buffer | string,
    options: { ttlMs: number; owner?: string; version?: string },
  ) {
    checkOpen(NAME, this.#closed);
    checkKey(key);
    checkTtl(options.ttlMs);
    if (options.owner !== undefined) checkOwner(options.owner);
    const buffer = toValueBuffer(NAME, value, this.#options.maxValueSize);
    const current = options.version === undefined ? undefined : parseVersion(options.version);
    const owner = options.owner ?? current?.owner;
    return {
      data: encodeData(owner, buffer),
      flags: owner ? ownerMark(owner) : 0,
      ttl: ttlOf(options.ttlMs),
      owner,
      current,
    };
  }

  /** memcached deletes the old item when it refuses a too-large one: refuse before sending. */
  async #checkItemSize(server: MetaConnection, data: Buffer): Promise<void> {
    const limit = (await server.itemSizeMax()) - ITEM_OVERHEAD;
    if (data.length > limit) {
      throw new ValueTooLargeError({ store: NAME, size: data.length, limit });
    }
  }

  #entryKey(key: string): string {
    return this.#options.prefix + key;
  }

  #serverOf(memcachedKey: string): MetaConnection {
    return pickServer(memcachedKey, this.#servers);
  }

  #entryOp(key: string, flags: string): Promise<MetaReply> {
    const k = this.#entryKey(key);
    return this.#serverOf(k).meta(`mg ${k} ${flags}`);
  }

  /** What the key holds now: nothing, a tombstone, or a live entry (with its flags and CAS). */
  async #stateOf(key: string): Promise<'missing' | 'gone' | { flags: number; cas: string }> {
    const reply = await this.#entryOp(key, 'f c');
    if (reply.status === 'EN') return 'missing';
    if (reply.status !== 'HD') throw unexpected('mg', reply);
    const flags = Number(reply.flags.f);
    if (flags & TOMBSTONE) return 'gone';
    return { flags, cas: reply.flags.c! };
  }

  async #refusalOf(key: string): Promise<WriteRefusal> {
    const state = await this.#stateOf(key);
    return typeof state === 'string' ? state : 'conflict';
  }

  /** Replace a live entry that passes `accept` with a tombstone (CAS, retried). */
  async #tombstone(
    key: string,
    accept: (flags: number) => boolean,
    deadline: Deadline,
  ): Promise<boolean> {
    const ttl = ttlOf(this.#options.tombstoneTtlMs);
    const k = this.#entryKey(key);
    while (Date.now() < deadline) {
      const state = await this.#stateOf(key);
      if (typeof state === 'string' || !accept(state.flags)) return false;
      const reply = await this.#serverOf(k).meta(
        `ms ${k} 0 T${ttl.token} F${TOMBSTONE} C${state.cas}`,
        Buffer.alloc(0),
      );
      if (reply.status === 'HD') return true;
      if (reply.status !== 'EX' && reply.status !== 'NF') throw unexpected('ms (tombstone)', reply);
    }
    throw new StoreUnavailableError({ store: NAME, reason: `delete of ${key} kept losing races` });
  }

  // --- owner index ----------------------------------------------------------------------------

  #indexKey(owner: string): string {
    const raw = this.#options.prefix + '\0o' + owner;
    if (Buffer.byteLength(raw) <= 250) return raw;
    return this.#options.prefix + '\0#' + createHash('sha256').update(owner).digest('base64url');
  }

  #indexOp(owner: string, command: string, flags: string, data?: Buffer) {
    const raw = this.#indexKey(owner);
    const encoded = Buffer.from(raw, 'latin1').toString('base64');
    const size = data ? ` ${data.length}` : '';
    return this.#serverOf(raw).meta(`${command} ${encoded}${size} b ${flags}`, data);
  }

  /** Keys of the owner's live entries (one pipelined read per member); `prune` rewrites the index. */
  async #indexRead(owner: string, prune: boolean): Promise<string[]> {
    const reply = await this.#indexOp(owner, 'mg', 'v c t');
    if (reply.status !== 'VA') return [];
    const members = parseMembers(reply.value!);
    const live = await this.#liveMembers(owner, members);
    if (prune && live.length < members.length) {
      // One attempt: if somebody else wrote the index meanwhile, the next read prunes.
      if (live.length === 0) await this.#indexOp(owner, 'md', `C${reply.flags.c}`);
      else {
        const data = Buffer.from(live.join('\n'));
        const ttl = relativeToken(Number(reply.flags.t));
        await this.#indexOp(owner, 'ms', `C${reply.flags.c} T${ttl}`, data);
      }
    }
    return live;
  }

  async #liveMembers(owner: string, members: string[]): Promise<string[]> {
    const mark = ownerMark(owner);
    const states = await Promise.all(members.map((key) => this.#stateOf(key)));
    return members.filter((_key, i) => {
      const state = states[i]!;
      return typeof state !== 'string' && state.flags === mark;
    });
  }

  /** After an owned write whose owner did not change: recreate or extend the index if needed. */
  async #indexRefresh(owner: string, key: string, ttlS: number, deadline: Deadline) {
    const reply = await this.#indexOp(owner, 'mg', 't');
    const remaining = Number(reply.flags.t);
    if (reply.status === 'HD' && (remaining === -1 || remaining >= ttlS)) return;
    await this.#indexAdd(owner, key, ttlS, deadline);
  }

  /** Add `key` to the owner's index and make the index live at least as long as the entry. */
  async #indexAdd(owner: string, key: string, entryTtlS: number, deadline: Deadline) {
    const wanted = Math.max(entryTtlS, this.#ownerIndexTtlS);
    while (Date.now() < deadline) {
      const reply = await this.#indexOp(owner, 'mg', 'v c t');
      if (reply.status === 'EN') {
        const data = Buffer.from(key);
        const added = await this.#indexOp(owner, 'ms', `T${relativeToken(wanted)} ME`, data);
        if (added.status === 'HD') return;
        continue;
      }
      if (reply.status !== 'VA') throw unexpected('mg (index)', reply);
      let members = parseMembers(reply.value!);
      const remaining = Number(reply.flags.t);
      const longEnough = remaining === -1 || remaining >= wanted;
      if (members.includes(key) && longEnough) return;
      if (!members.includes(key)) members.push(key);
      if (members.length > INDEX_PRUNE_AT) {
        const live = new Set(await this.#liveMembers(owner, members));
        members = members.filter((m) => m === key || live.has(m));
      }
      const data = Buffer.from(members.join('\n'));
      const ttl = remaining === -1 ? 0 : relativeToken(Math.max(remaining, wanted));
      const written = await this.#indexOp(owner, 'ms', `C${reply.flags.c} T${ttl}`, data);
      if (written.status === 'HD') return;
      await new Promise((r) => setTimeout(r, 1 + Math.random() * 4));
    }
    throw new StoreUnavailableError({ store: NAME, reason: `owner index of ${owner} stayed busy` });
  }
}

// --- encoding -----------------------------------------------------------------------------------

/** Client flags of an entry owned by `owner`: OWNED plus a 30-bit hash of the owner. */
function ownerMark(owner: string): number {
  return (OWNED | ((hash32(owner) & 0x3fffffff) << 2)) >>> 0;
}

function encodeData(owner: string | undefined, value: Buffer): Buffer {
  if (!owner) return value;
  const header = Buffer.from(owner, 'latin1');
  return Buffer.concat([Buffer.from([header.length]), header, value]);
}

function decodeData(flags: number, data: Buffer): { owner: string | undefined; value: Buffer } {
  if (!(flags & OWNED)) return { owner: undefined, value: data };
  const length = data[0] ?? 0;
  return {
    owner: data.toString('latin1', 1, 1 + length),
    value: data.subarray(1 + length),
  };
}

/** Versions carry the owner, so that an update that keeps the owner needs no read first. */
function makeVersion(cas: string, owner: string | undefined): string {
  return owner ? `${cas}~${owner}` : cas;
}

function parseVersion(version: string): { cas: string; owner: string | undefined } | undefined {
  const match = typeof version === 'string' ? /^([1-9]\d{0,19})(?:~(.+))?$/.exec(version) : null;
  if (!match) return undefined;
  return { cas: match[1]!, owner: match[2] };
}

function parseMembers(data: Buffer): string[] {
  const text = data.toString('latin1');
  return text === '' ? [] : text.split('\n');
}

/** A TTL in whole seconds (rounded up) and the token memcached reads for it. */
function ttlOf(ttlMs: number): { seconds: number; token: number; expiresAt: number } {
  const seconds = Math.ceil(ttlMs / 1000);
  if (seconds <= MAX_RELATIVE_TTL_S) {
    return { seconds, token: seconds, expiresAt: Date.now() + seconds * 1000 };
  }
  const absolute = Math.ceil((Date.now() + ttlMs) / 1000);
  return { seconds, token: absolute, expiresAt: absolute * 1000 };
}

function relativeToken(seconds: number): number {
  if (seconds < 0) return 0; // -1: the item never expires
  return seconds <= MAX_RELATIVE_TTL_S ? seconds : Math.ceil(Date.now() / 1000) + seconds;
}

function expiresAtOf(remaining: string | undefined): number {
  const seconds = Number(remaining);
  if (seconds === -1) return Number.MAX_SAFE_INTEGER;
  return Date.now() + seconds * 1000;
}

function written(reply: MetaReply, owner: string | undefined, expiresAt: number): WriteResult {
  return { ok: true, version: makeVersion(reply.flags.c!, owner), expiresAt };
}

function refused(reason: WriteRefusal): WriteResult {
  return { ok: false, reason };
}

function unexpected(command: string, reply: MetaReply): Error {
  return new StoreProtocolError({ store: NAME, reason: `${command} answered ${reply.status}` });
}

function toStoreError(err: unknown, maxValueSize: number): Error {
  if (err instanceof MemcachedError) {
    if (err.kind === 'SERVER_ERROR' && /too large/.test(err.message)) {
      return new ValueTooLargeError({ store: NAME, size: -1, limit: maxValueSize }, { cause: err });
    }
    if (err.kind === 'ERROR' || err.kind === 'CLIENT_ERROR') {
      return new StoreProtocolError({ store: NAME, reason: err.message }, { cause: err });
    }
  }
  return asUnavailable(NAME, err);
}
