/**
 * The ioredis client behind the Redis store, configured so that it never hangs and never queues
 * without bound (connect-redis #373): no offline queue, no retry or re-send of a command that was
 * in flight when a connection dropped, a socket that stays silent longer than the store timeout
 * is destroyed, and reconnection keeps going in the background so the store heals by itself.
 */
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { StoreUnavailableError } from '../errors.js';
import { importPeer } from './_utils.js';
import { measureClock, type ServerClock } from './deadline.js';
import { SCRIPTS } from './redis-scripts.js';

/** The ioredis client (standalone or Cluster) with drove's scripts defined on it. */
export interface ScriptClient {
  readonly status: string;
  hmgetBuffer(key: string, ...fields: string[]): Promise<(Buffer | null)[]>;
  pttl(key: string): Promise<number>;
  droveCreate(
    key: string,
    value: Buffer,
    version: string,
    ttlMs: number,
    owner: string,
    expiresAt: number,
    fence: number,
  ): Promise<string>;
  droveUpdate(
    key: string,
    value: Buffer,
    expected: string,
    next: string,
    ttlMs: number,
    owner: string,
    expiresAt: number,
    fence: number,
  ): Promise<[string, (string | null)?]>;
  droveTouch(
    key: string,
    ttlMs: number,
    expiresAt: number,
    fence: number,
  ): Promise<[number, string | null] | null | 'late'>;
  droveDelete(
    key: string,
    tombstoneTtlMs: number,
    onlyOwner: string,
    fence: number,
  ): Promise<[number | 'late', (string | null)?]>;
  droveIndex(key: string, member: string, ttlMs: number): Promise<number>;
  smembers(key: string): Promise<string[]>;
  hget(key: string, field: string): Promise<string | null>;
  srem(key: string, ...members: string[]): Promise<number>;
  ping(): Promise<string>;
  time(): Promise<[string, string]>;
}

export interface RedisConnectionOptions {
  /** Store name for errors: `redis` or `redis-cluster`. */
  store: string;
  url: string;
  /** Cluster seed nodes; undefined for a standalone server. */
  nodes: { host: string; port: number }[] | undefined;
  timeoutMs: number;
  /** ioredis auto-pipelining (see RedisStoreOptions.autoPipelining). */
  autoPipelining: boolean;
}

/** An open (or opening) connection. */
export interface RedisConnection {
  /**
   * The client when it is connected. While the very first connection attempt is under way, waits
   * for it (the caller's deadline bounds the wait); once the store has been connected or has
   * failed once, a disconnected client fails at once instead of queueing.
   */
  usable(): ScriptClient | Promise<ScriptClient>;
  /**
   * The client if it is connected right now and its server clock is measured (the hot path),
   * else undefined.
   */
  readyClient(): ScriptClient | undefined;
  /**
   * The server's clock as measured when this connection (or, in a Cluster, the most conservative
   * of its masters) last connected; set whenever `readyClient()` returns a client.
   */
  clock(): ServerClock | undefined;
  /** The raw ioredis client (benchmarks and tests). */
  readonly client: Redis | Cluster;
  close(): Promise<void>;
}

/** How often a connected store measures the server's clock again (see deadline.ts). */
export const CLOCK_REFRESH_MS = 60_000;

/** Reconnect quickly at first, then once a second, forever (until close). */
const retryDelay = (times: number): number => Math.min(50 * times, 1000);

export async function openRedisConnection(
  options: RedisConnectionOptions,
): Promise<RedisConnection> {
  const ioredis = await importPeer(
    'ioredis',
    `the ${options.store} store`,
    () => import('ioredis'),
  );
  const { timeoutMs } = options;
  // Shared by standalone and Cluster node connections.
  const common: RedisOptions = {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    disconnectTimeout: timeoutMs,
    // Every command fails after timeoutMs even when no outer deadline wraps it (the read path).
    commandTimeout: timeoutMs,
    // Fail in-flight commands when their connection drops; never replay them later.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    disableClientInfo: true,
    enableAutoPipelining: options.autoPipelining,
  };

  let client: Redis | Cluster;
  if (options.nodes) {
    const seed = new URL(options.url);
    const clusterOptions: ClusterOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: retryDelay,
      slotsRefreshTimeout: timeoutMs,
      redisOptions: {
        ...common,
        // A node socket that owes replies and stays silent this long is destroyed (see
        // watchSilence for the standalone client, which avoids this per-command timer).
        socketTimeout: timeoutMs,
        ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
        ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
        ...(seed.protocol === 'rediss:' ? { tls: {} } : {}),
      },
    };
    client = new ioredis.Cluster(options.nodes, clusterOptions);
  } else {
    client = new ioredis.Redis(options.url, {
      ...common,
      enableOfflineQueue: false,
      retryStrategy: retryDelay,
    });
  }
  const stopWatching = options.nodes ? () => {} : watchSilence(client as Redis, timeoutMs);
  const coalesce =
    options.nodes || options.autoPipelining ? () => {} : coalesceWrites(client as Redis);
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { numberOfKeys: 1, lua });
  }

  let lastError: Error | undefined;
  let settledOnce = false;
  let closing = false;
  // Settles on the first 'ready' or the first failed attempt, whichever comes first.
  const firstAttempt = new Promise<void>((resolve) => {
    const settle = () => {
      settledOnce = true;
      resolve();
    };
    client.once('ready', settle);
    client.once('close', settle);
    client.once('end', settle);
  });
  // ioredis prints unhandled 'error' events; keep the last one for the error message instead.
  client.on('error', (err: Error) => {
    lastError = err;
  });
  client.on('node error', (err: Error) => {
    lastError = err;
  });
  // The fence of every write needs the server's clock: measured on each (re)connection, and the
  // client is not handed out before. A failed measurement leaves it undefined until the next one.
  let clock: ServerClock | undefined;
  let measuring: Promise<void> | undefined;
  const measure = () => {
    clock = undefined;
    const current: Promise<void> = measureServerClock(client, options.nodes !== undefined).then(
      (measured) => {
        if (measuring === current && client.status === 'ready') clock = measured;
      },
      () => undefined,
    );
    measuring = current;
  };
  client.on('ready', measure);
  client.on('close', () => {
    clock = undefined;
  });
  // Clocks drift and get stepped: measure again now and then, keeping the last one meanwhile.
  const remeasure = setInterval(() => {
    if (client.status !== 'ready' || clock === undefined) return;
    measureServerClock(client, options.nodes !== undefined).then(
      (measured) => {
        if (client.status === 'ready' && clock !== undefined) clock = measured;
      },
      () => undefined,
    );
  }, CLOCK_REFRESH_MS);
  remeasure.unref();
  client.connect().catch(() => {
    // The failure surfaces through usable(); reconnection continues in the background.
  });

  const scripted = client as unknown as ScriptClient;
  const unavailable = () =>
    new StoreUnavailableError({
      store: options.store,
      reason: `not connected (${client.status}${lastError ? `: ${lastError.message}` : ''})`,
    });
  const measured = async (): Promise<ScriptClient> => {
    await measuring;
    if (client.status !== 'ready' || clock === undefined) throw unavailable();
    coalesce();
    return scripted;
  };
  const afterFirstAttempt = async (): Promise<ScriptClient> => {
    await firstAttempt;
    if (client.status !== 'ready') throw unavailable();
    return measured();
  };

  return {
    client,
    clock: () => clock,
    readyClient() {
      if (client.status !== 'ready' || clock === undefined) return undefined;
      coalesce();
      return scripted;
    },
    usable() {
      if (client.status === 'ready') {
        if (clock === undefined) return measured();
        coalesce();
        return scripted;
      }
      if (settledOnce || closing) throw unavailable();
      return afterFirstAttempt();
    },
    async close() {
      closing = true;
      stopWatching();
      clearInterval(remeasure);
      // Only a live socket has an 'end' to wait for; a reconnecting client just stops retrying.
      const live = ['connecting', 'connect', 'ready'].includes(client.status);
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      client.disconnect();
      if (!live) return;
      // 'end' normally follows at once; do not let a stuck socket hold close() up.
      await Promise.race([ended, new Promise<void>((r) => setTimeout(r, timeoutMs).unref())]);
    },
  };
}

/** The server clock of a standalone server, or the most conservative one of a Cluster's masters. */
async function measureServerClock(client: Redis | Cluster, cluster: boolean): Promise<ServerClock> {
  const timeOf = (node: Redis | Cluster) => async () => {
    const [seconds, micros] = await node.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };
  if (!cluster) return measureClock(timeOf(client));
  const masters = (client as Cluster).nodes('master');
  const clocks = await Promise.all(masters.map((node) => measureClock(timeOf(node))));
  // The earliest fence on every node is safe on all of them (a fence too early only refuses more).
  return clocks.reduce((a, b) => (b.offset - b.uncertainty < a.offset - a.uncertainty ? b : a));
}

/**
 * Called before each command: holds the socket's writes (cork) until the end of this turn of the
 * event loop, so that the commands of all the requests a busy server handles in one turn leave in
 * one write. Each write to a loopback socket costs a syscall and a wake-up of the reader;
 * batching cut Redis's reads per command ~18-fold under bench/session. A lone command waits only
 * for the rest of the turn (setImmediate runs right after the I/O callbacks). Unlike ioredis's
 * auto-pipelining, no Pipeline object per batch.
 */
function coalesceWrites(client: Redis): () => void {
  let corked: Redis['stream'] | undefined;
  const flush = () => {
    const stream = corked;
    corked = undefined;
    stream?.uncork();
  };
  return () => {
    if (corked !== undefined) return;
    const stream = client.stream as Redis['stream'] | undefined;
    if (stream === undefined) return;
    stream.cork();
    corked = stream;
    setImmediate(flush);
  };
}

/** How many replies the connection is owed (ioredis's `commandQueue`, not in its typings). */
const owedReplies = (client: Redis): number =>
  (client as unknown as { commandQueue: { length: number } }).commandQueue.length;

/**
 * Destroys a standalone connection that owes replies and has received nothing for `timeoutMs`
 * (a server or network that accepts but never answers, during the handshake or later), so that
 * the client reconnects instead of waiting forever. One timer per store: ioredis's own
 * `socketTimeout` arms a timer per command, which costs the read path measurably.
 */
function watchSilence(client: Redis, timeoutMs: number): () => void {
  const owed = () => owedReplies(client);
  let watched: Redis['stream'] | undefined;
  let chunks = 0;
  let seenChunks = 0;
  let quietSince = 0;
  const onData = () => {
    chunks++;
  };
  const timer = setInterval(
    () => {
      const stream = client.stream as Redis['stream'] | undefined;
      if (stream !== watched) {
        watched?.off('data', onData);
        stream?.on('data', onData);
        watched = stream;
        quietSince = 0;
      }
      const now = Date.now();
      if (owed() === 0 || chunks !== seenChunks) {
        seenChunks = chunks;
        quietSince = owed() === 0 ? 0 : now;
        return;
      }
      if (quietSince === 0) quietSince = now;
      else if (now - quietSince >= timeoutMs) {
        quietSince = 0;
        stream?.destroy(new Error(`no reply within ${timeoutMs} ms; reconnecting`));
      }
    },
    Math.max(10, Math.floor(timeoutMs / 4)),
  );
  timer.unref();
  return () => {
    clearInterval(timer);
    watched?.off('data', onData);
  };
}
