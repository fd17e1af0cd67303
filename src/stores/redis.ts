/**
 * The Redis store, on a standalone server or a Redis Cluster (ioredis, an optional peer loaded on
 * first use). Layout under the prefix:
 * - `<prefix>e:<key>`: the entry, a hash; its tombstone is the same key (see redis-scripts.ts);
 * - `<prefix>o:<owner>`: the owner's index, a set of keys, written after the entry and pruned of
 *   dead members on read. In a Cluster it lives in another slot, so it is never atomic with the
 *   entry: readers check every member against the entry itself.
 */
import { randomBytes } from 'node:crypto';
import {
  InvalidOptionError,
  StoreProtocolError,
  StoreUnavailableError,
  StoreUrlError,
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
  type FencedWrite,
  fencedWrite,
  LATE,
  serverDeadline,
} from './deadline.js';
import { openRedisConnection, type RedisConnection, type ScriptClient } from './redis-client.js';
import { READ_FIELDS } from './redis-scripts.js';
import type { Store, StoreEntry, StoreOptions, WriteRefusal, WriteResult } from './types.js';

/** Options of the Redis store (standalone or Cluster). */
export interface RedisStoreOptions extends StoreOptions {
  /**
   * `redis://[user:pass@]host:port[/db]` or `rediss://…` URL of a standalone server (or of a
   * cluster seed with `cluster: true`). Default `redis://127.0.0.1:6379`.
   */
  url?: string;
  /** Redis Cluster: the seed nodes, or `true` to use `url` as the only seed. */
  cluster?: boolean | { host: string; port: number }[];
  /**
   * Use ioredis auto-pipelining instead of drove's own write coalescing (a standalone store
   * always sends the commands of one event-loop turn in one socket write; see
   * docs/stores-redis.md). Cluster connections are batched only with this option. Default false.
   */
  autoPipelining?: boolean;
}

// Versions are unique without a round trip: a random per-process prefix and a counter.
const versionPrefix = randomBytes(8).toString('base64url');
let versionCounter = 0;
const nextVersion = (): string => `${versionPrefix}${(++versionCounter).toString(36)}`;

/**
 * A store on Redis or Redis Cluster. Prefer `createStore('redis://…')`; use this for options the
 * URL cannot carry.
 *
 * @example
 * ```ts
 * import { createRedisStore } from 'drovejs/stores';
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379', timeoutMs: 500 });
 * await store.ready();
 * const cluster = createRedisStore({ cluster: [{ host: '10.0.0.1', port: 7000 }] });
 * ```
 */
export function createRedisStore(options: RedisStoreOptions = {}): Store {
  const { timeoutMs, maxValueSize, prefix, tombstoneTtlMs } = resolveStoreOptions(options);
  const url = options.url ?? 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\/./i.test(url)) {
    throw new StoreUrlError({ url, part: url, reason: 'expected redis://host:port or rediss://…' });
  }
  const nodes = clusterNodes(url, options.cluster);
  const name = nodes ? 'redis-cluster' : 'redis';
  const entryKey = (key: string) => `${prefix}e:${key}`;
  const ownerKey = (owner: string) => `${prefix}o:${owner}`;

  const withDeadline = createDeadlineRunner(name, timeoutMs);
  let opening: Promise<RedisConnection> | undefined;
  let connection: RedisConnection | undefined;
  let closed = false;

  const usable = (): ScriptClient | Promise<ScriptClient> => {
    if (connection) return connection.usable();
    opening ??= openRedisConnection({
      store: name,
      url,
      nodes,
      timeoutMs,
      autoPipelining: options.autoPipelining === true,
    }).then((opened) => {
      connection = opened;
      return opened;
    });
    return opening.then((opened) => opened.usable());
  };

  /** The operation on the connected client (no extra promise when connected: the hot path). */
  const onClient = <T>(operation: (client: ScriptClient) => Promise<T>): Promise<T> => {
    const client = connection?.readyClient();
    if (client) return operation(client);
    const pending = usable();
    return pending instanceof Promise ? pending.then(operation) : operation(pending);
  };

  /** Every call: open check, then the operation under the store deadline. */
  const run = <T>(
    operation: (client: ScriptClient, deadline: number) => Promise<T>,
  ): Promise<T> => {
    checkOpen(name, closed);
    return withDeadline((deadline) => onClient((client) => operation(client, deadline)));
  };

  /**
   * A fenced write (see deadline.ts): `send` gets the client and the fence, the caller's deadline
   * in the server's clock; `readBack` says, after a lost reply, whether it landed.
   */
  const fenced = <T>(
    operation: string,
    send: (client: ScriptClient, fence: number) => Promise<T | typeof LATE>,
    readBack?: (client: ScriptClient) => Promise<T | undefined>,
  ): Promise<T> => {
    checkOpen(name, closed);
    const write: FencedWrite<T> = {
      operation,
      send: (deadline, sent) =>
        onClient((client) => {
          const clock = connection?.clock();
          if (clock === undefined) {
            throw new StoreUnavailableError({ store: name, reason: 'server clock not measured' });
          }
          sent();
          return send(client, serverDeadline(deadline, clock, timeoutMs));
        }),
    };
    if (readBack) write.readBack = () => onClient(readBack);
    return fencedWrite(name, withDeadline, timeoutMs, write);
  };

  /** After a lost reply: whether the entry now has the version that write would have set. */
  const hasVersion = async (client: ScriptClient, key: string, version: string) =>
    (await client.hget(entryKey(key), 'ver')) === version;

  /** Index maintenance that may fail without failing the call: readers prune the index anyway. */
  const bestEffort = (promise: Promise<unknown>) => promise.catch(() => undefined);

  const refusal = (reply: unknown, allowed: readonly WriteRefusal[]): WriteResult => {
    if (allowed.includes(reply as WriteRefusal))
      return { ok: false, reason: reply as WriteRefusal };
    throw new StoreProtocolError({ store: name, reason: `script answered ${String(reply)}` });
  };

  return {
    name,

    async ready() {
      await run(async (client) => {
        await client.ping();
      });
    },

    get(key): Promise<StoreEntry | undefined> {
      try {
        checkOpen(name, closed);
        checkKey(key);
        const started = Date.now();
        const entry = entryKey(key);
        const client = connection?.readyClient();
        // Hot path: one command, bounded by the client's own per-command timeout (timeoutMs),
        // with a single promise on top of the client's: the read path is benchmarked against
        // the raw client, and a wrapping deadline alone cost ~10% of its throughput.
        if (client) {
          return client.hmgetBuffer(entry, ...READ_FIELDS).then(
            (reply) => toEntry(reply, started, client, entry, name),
            (err: unknown) => Promise.reject(asUnavailable(name, err)),
          );
        }
        return withDeadline(() =>
          onClient((ready) =>
            ready
              .hmgetBuffer(entry, ...READ_FIELDS)
              .then((r) => toEntry(r, started, ready, entry, name)),
          ),
        );
      } catch (err) {
        return Promise.reject(err);
      }
    },

    async create(key, value, { ttlMs, owner }): Promise<WriteResult> {
      checkKey(key);
      checkTtl(ttlMs);
      if (owner !== undefined) checkOwner(owner);
      const bytes = toValueBuffer(name, value, maxValueSize);
      const version = nextVersion();
      let expiresAt = 0;
      const index = (client: ScriptClient) =>
        owner === undefined ? undefined : client.droveIndex(ownerKey(owner), key, ttlMs);
      return fenced(
        'create',
        async (client, fence) => {
          expiresAt = Date.now() + ttlMs;
          const reply = await client.droveCreate(
            entryKey(key),
            bytes,
            version,
            ttlMs,
            owner ?? '',
            expiresAt,
            fence,
          );
          if (reply === 'late') return LATE;
          if (reply !== 'ok') return refusal(reply, ['exists', 'gone']);
          // After the entry, so the index never misses a live entry for long; awaited, so a
          // failure is reported (the entry exists but is not listed yet).
          await index(client);
          return { ok: true, version, expiresAt };
        },
        async (client) => {
          if (!(await hasVersion(client, key, version))) return undefined;
          await bestEffort(index(client) ?? Promise.resolve());
          return { ok: true, version, expiresAt };
        },
      );
    },

    async update(key, value, { ttlMs, owner, version: expected }): Promise<WriteResult> {
      checkKey(key);
      checkTtl(ttlMs);
      if (owner !== undefined) checkOwner(owner);
      if (typeof expected !== 'string') {
        throw new InvalidOptionError({ option: 'version', reason: 'expected the version read' });
      }
      const bytes = toValueBuffer(name, value, maxValueSize);
      const version = nextVersion();
      let expiresAt = 0;
      const landed = async (client: ScriptClient): Promise<WriteResult | undefined> => {
        if (!(await hasVersion(client, key, version))) return undefined;
        const current = owner ?? (await client.hget(entryKey(key), 'own')) ?? undefined;
        if (current !== undefined)
          await bestEffort(client.droveIndex(ownerKey(current), key, ttlMs));
        return { ok: true, version, expiresAt };
      };
      return fenced(
        'update',
        async (client, fence) => {
          expiresAt = Date.now() + ttlMs;
          const [outcome, previous] = await client.droveUpdate(
            entryKey(key),
            bytes,
            expected,
            version,
            ttlMs,
            owner ?? '',
            expiresAt,
            fence,
          );
          if (outcome === 'late') return LATE;
          if (outcome !== 'ok') return refusal(outcome, ['conflict', 'missing', 'gone']);
          const current = owner ?? previous ?? undefined;
          const moved = previous && owner !== undefined && previous !== owner;
          // Without an owner (most sessions) there is no index to keep: no second round trip.
          if (current !== undefined || moved) {
            await Promise.all([
              // The index must outlive the entry it lists, so it is stretched on every write.
              current !== undefined && client.droveIndex(ownerKey(current), key, ttlMs),
              moved ? bestEffort(client.srem(ownerKey(previous), key)) : undefined,
            ]);
          }
          return { ok: true, version, expiresAt };
        },
        landed,
      );
    },

    async touch(key, ttlMs) {
      checkKey(key);
      checkTtl(ttlMs);
      // No read-back: a touch leaves no version of its own, so a lost reply stays unknown.
      return fenced('touch', async (client, fence) => {
        const expiresAt = Date.now() + ttlMs;
        const reply = await client.droveTouch(entryKey(key), ttlMs, expiresAt, fence);
        if (reply === 'late') return LATE;
        if (reply === null) return undefined;
        const owner = reply[1];
        if (owner) await client.droveIndex(ownerKey(owner), key, ttlMs);
        return expiresAt;
      });
    },

    async delete(key) {
      checkKey(key);
      // No read-back: whether a live entry was there cannot be told afterwards.
      return fenced('delete', async (client, fence) => {
        const [deleted, owner] = await client.droveDelete(entryKey(key), tombstoneTtlMs, '', fence);
        if (deleted === 'late') return LATE;
        if (owner) await bestEffort(client.srem(ownerKey(owner), key));
        return deleted === 1;
      });
    },

    async ownedBy(owner) {
      checkOwner(owner);
      return run(async (client) => {
        const members = await client.smembers(ownerKey(owner));
        // One command per member: in a Cluster each entry may live on another node.
        const owners = await Promise.all(members.map((m) => client.hget(entryKey(m), 'own')));
        const live = members.filter((_, i) => owners[i] === owner);
        const dead = members.filter((_, i) => owners[i] !== owner);
        if (dead.length > 0) await bestEffort(client.srem(ownerKey(owner), ...dead));
        return live.sort();
      });
    },

    async deleteOwned(owner, { except = [] } = {}) {
      checkOwner(owner);
      for (const key of except) checkKey(key);
      const kept = new Set(except);
      // Several keys: a failure may leave some deleted (before the deadline, never after).
      return run(async (client, deadline) => {
        const clock = connection?.clock();
        if (clock === undefined) {
          throw new StoreUnavailableError({ store: name, reason: 'server clock not measured' });
        }
        const fence = serverDeadline(deadline, clock, timeoutMs);
        const members = await client.smembers(ownerKey(owner));
        const targets = members.filter((m) => !kept.has(m));
        // The owner filter in the script spares an entry that changed owner since it was indexed.
        const replies = await Promise.all(
          targets.map((m) => client.droveDelete(entryKey(m), tombstoneTtlMs, owner, fence)),
        );
        if (targets.length > 0) await bestEffort(client.srem(ownerKey(owner), ...targets));
        return replies.filter(([deleted]) => deleted === 1).length;
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      const open = connection ?? (await opening?.catch(() => undefined));
      await open?.close();
    },
  };
}

/**
 * An HMGET of READ_FIELDS as an entry. Redis never returns an expired key, so an `exp` that looks
 * past (a writer's clock ahead of ours) still reads as live, for a millisecond. An entry without
 * `exp` (written before drove kept it) costs one PTTL; `started` is when the call began, so that
 * expiry is never overstated.
 */
function toEntry(
  reply: (Buffer | null)[],
  started: number,
  client: ScriptClient,
  entry: string,
  store: string,
): StoreEntry | undefined | Promise<StoreEntry | undefined> {
  const [value, version, owner, exp] = reply;
  if (!value || !version) return undefined;
  const read = (expiresAt: number): StoreEntry => ({
    value,
    version: version.toString('latin1'),
    expiresAt: Math.max(expiresAt, Date.now() + 1),
    owner: owner ? owner.toString('utf8') : undefined,
  });
  if (exp) return read(Number(exp.toString('latin1')));
  return client.pttl(entry).then(
    (pttl) =>
      pttl === -2 ? undefined : read(pttl >= 0 ? started + pttl : Number.MAX_SAFE_INTEGER),
    (err: unknown) => Promise.reject(asUnavailable(store, err)),
  );
}

/** The Cluster seed nodes, or undefined for a standalone server. */
function clusterNodes(
  url: string,
  cluster: RedisStoreOptions['cluster'],
): { host: string; port: number }[] | undefined {
  if (Array.isArray(cluster)) {
    if (cluster.length === 0) {
      throw new InvalidOptionError({
        option: 'cluster',
        reason: 'expected at least one seed node',
      });
    }
    return cluster;
  }
  if (cluster !== true) return undefined;
  let seed: URL;
  try {
    seed = new URL(url);
  } catch {
    throw new InvalidOptionError({ option: 'url', reason: `not a valid URL: ${url}` });
  }
  return [{ host: seed.hostname.replace(/^\[|\]$/g, ''), port: Number(seed.port) || 6379 }];
}
