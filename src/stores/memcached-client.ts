/**
 * A small client for memcached 1.6's meta protocol (`mg`, `ms`, `md`, `mn`) over node:net.
 *
 * Why our own: the maintained npm clients (memjs, memcached) speak the classic text or binary
 * protocol, which cannot report an entry's remaining TTL; the meta protocol can (`mg key t`), and
 * it also gives add/CAS/touch in single commands. This module is internal to the Memcached store.
 *
 * One connection per server. Requests are pipelined and matched to replies in order (memcached
 * answers in order on a connection). While a server is down, requests fail at once (no queue);
 * the connection reconnects in the background with a capped backoff. A request that gets no reply
 * within `timeoutMs` resets the connection: a server that stopped answering is treated as down.
 * @module
 */
import { createConnection, type Socket } from 'node:net';

/** A meta command's reply: its status (HD, VA, EN, NS, EX, NF, MN) and return flags. */
export interface MetaReply {
  status: string;
  /** Return flags by letter (`c` → CAS, `t` → remaining TTL, `f` → client flags, ...). */
  flags: Record<string, string>;
  /** The data block of a `VA` reply. */
  value: Buffer | undefined;
}

/** Why a request failed on the client side or was refused by the server. */
export type MemcachedErrorKind =
  | 'down'
  | 'timeout'
  | 'closed'
  | 'overload'
  | 'ERROR'
  | 'CLIENT_ERROR'
  | 'SERVER_ERROR';

/** A failed memcached request. The store turns it into a coded DroveError. */
export class MemcachedError extends Error {
  readonly kind: MemcachedErrorKind;
  constructor(kind: MemcachedErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MemcachedError';
    this.kind = kind;
  }
}

/** Options of one server connection. */
export interface MetaConnectionOptions {
  host: string;
  port: number;
  /** Connect timeout, and how long a request may wait for its reply before the connection is reset. */
  timeoutMs: number;
  /** Requests in flight on the connection at most; more fail with `overload`. Default 10 000. */
  maxPending?: number;
}

type Pending =
  | {
      kind: 'meta';
      sentAt: number;
      resolve: (reply: MetaReply) => void;
      reject: Fail;
      onSent: (() => void) | undefined;
      deadline: number | undefined;
    }
  | {
      kind: 'lines';
      sentAt: number;
      lines: string[];
      resolve: (lines: string[]) => void;
      reject: Fail;
    };
type Fail = (err: Error) => void;

const CRLF = Buffer.from('\r\n');
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1000;

/** One pipelined connection to one memcached server. */
export class MetaConnection {
  readonly host: string;
  readonly port: number;
  state: 'idle' | 'connecting' | 'up' | 'down' | 'closed' = 'idle';
  readonly #timeoutMs: number;
  readonly #maxPending: number;
  #socket: Socket | undefined;
  #connecting: Promise<void> | undefined;
  #lastError: Error | undefined;
  #retryDelay = RETRY_MIN_MS;
  #retryTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #corked = false;
  #itemSizeMaxCache: number | undefined;
  // FIFO of requests awaiting replies: an array with a moving head (shift() is O(n)).
  #queue: Pending[] = [];
  #head = 0;
  #waiting = 0; // requests waiting for a connect in progress
  // Parser state: unparsed bytes, and how many are needed before parsing can make progress.
  #chunks: Buffer[] = [];
  #buffered = 0;
  #needed = 0;
  #valueOf: { flags: Record<string, string>; size: number } | undefined;

  constructor(options: MetaConnectionOptions) {
    this.host = options.host;
    this.port = options.port;
    this.#timeoutMs = options.timeoutMs;
    this.#maxPending = options.maxPending ?? 10_000;
  }

  /** `host:port`, the server's identity for hashing. */
  get id(): string {
    return `${this.host}:${this.port}`;
  }

  /** Connect now (also when down and waiting to retry). Resolves once the socket is up. */
  connect(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(this.#closedError());
    if (this.state === 'up') return Promise.resolve();
    if (this.state === 'connecting' && this.#connecting) return this.#connecting;
    clearTimeout(this.#retryTimer);
    return this.#open();
  }

  /**
   * Send one meta command (`line` without CRLF) with an optional data block; resolve its reply.
   * `send.onSent` is called when the command is handed to the socket (before that, a failure
   * means the server never saw it); a command still waiting for a connection at `send.deadline`
   * (ms since the epoch) is never sent.
   */
  meta(
    line: string,
    data?: Buffer,
    send: { onSent?: () => void; deadline?: number } = {},
  ): Promise<MetaReply> {
    return new Promise((resolve, reject) => {
      this.#dispatch(
        { kind: 'meta', sentAt: 0, resolve, reject, onSent: send.onSent, deadline: send.deadline },
        line,
        data,
      );
    });
  }

  /** Send a command answered by lines up to `END` (e.g. `stats settings`). */
  lines(line: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.#dispatch({ kind: 'lines', sentAt: 0, lines: [], resolve, reject }, line);
    });
  }

  /** The server's `item_size_max` (largest item it stores), read once. */
  async itemSizeMax(): Promise<number> {
    if (this.#itemSizeMaxCache !== undefined) return this.#itemSizeMaxCache;
    const lines = await this.lines('stats settings');
    const line = lines.find((l) => l.startsWith('STAT item_size_max '));
    const size = Number(line?.split(' ')[2]);
    if (!Number.isInteger(size) || size <= 0) {
      throw new MemcachedError('SERVER_ERROR', 'stats settings did not report item_size_max');
    }
    this.#itemSizeMaxCache = size;
    return size;
  }

  /** Close the socket and stop reconnecting; requests in flight fail with `closed`. */
  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'closed';
    clearTimeout(this.#retryTimer);
    clearInterval(this.#watchdog);
    const socket = this.#socket;
    this.#failAll(this.#closedError());
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }

  #dispatch(pending: Pending, line: string, data?: Buffer): void {
    if (this.state === 'up') {
      this.#write(pending, line, data);
    } else if (this.state === 'closed') {
      pending.reject(this.#closedError());
    } else if (this.state === 'down') {
      pending.reject(this.#downError());
    } else if (this.#waiting >= this.#maxPending) {
      pending.reject(this.#overloadError());
    } else {
      // idle or connecting: wait for the connect, which is bounded by timeoutMs.
      this.#waiting++;
      this.connect().then(
        () => {
          this.#waiting--;
          if (this.state === 'up') this.#write(pending, line, data);
          else pending.reject(this.state === 'closed' ? this.#closedError() : this.#downError());
        },
        (err: Error) => {
          this.#waiting--;
          pending.reject(err);
        },
      );
    }
  }

  #write(pending: Pending, line: string, data?: Buffer): void {
    const socket = this.#socket!;
    if (this.#queue.length - this.#head >= this.#maxPending) {
      pending.reject(this.#overloadError());
      return;
    }
    pending.sentAt = Date.now();
    if (
      pending.kind === 'meta' &&
      pending.deadline !== undefined &&
      pending.sentAt >= pending.deadline
    ) {
      pending.reject(
        new MemcachedError('timeout', 'the deadline passed before the command was sent'),
      );
      return;
    }
    this.#queue.push(pending);
    if (pending.kind === 'meta') pending.onSent?.();
    // Cork until the end of this tick so pipelined requests leave in one segment.
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    socket.write(line + '\r\n');
    if (data) {
      socket.write(data);
      socket.write(CRLF);
    }
  }

  #open(): Promise<void> {
    this.state = 'connecting';
    const socket = createConnection({ host: this.host, port: this.port });
    this.#socket = socket;
    socket.setNoDelay(true);
    const connecting = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy(new Error(`connect timeout after ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        if (this.state === 'closed') return;
        socket.setKeepAlive(true, 10_000);
        this.state = 'up';
        this.#retryDelay = RETRY_MIN_MS;
        this.#startWatchdog();
        resolve();
      });
      socket.on('error', (err) => {
        this.#lastError = err;
      });
      socket.on('data', (chunk: Buffer) => this.#onData(chunk));
      socket.once('close', () => {
        clearTimeout(timer);
        this.#onClosed(socket);
        // A no-op once connected; otherwise the waiters learn why the connect failed.
        reject(this.state === 'closed' ? this.#closedError() : this.#downError());
      });
    });
    this.#connecting = connecting;
    // Nobody may be listening (a background retry): avoid an unhandled rejection.
    connecting.catch(() => {});
    return connecting;
  }

  #onClosed(socket: Socket): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    this.#connecting = undefined;
    clearInterval(this.#watchdog);
    this.#chunks = [];
    this.#buffered = 0;
    this.#needed = 0;
    this.#valueOf = undefined;
    if (this.state === 'closed') return;
    this.state = 'down';
    this.#failAll(this.#downError());
    this.#retryTimer = setTimeout(() => {
      if (this.state === 'down') this.#open();
    }, this.#retryDelay);
    this.#retryTimer.unref();
    this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
  }

  #startWatchdog(): void {
    clearInterval(this.#watchdog);
    const every = Math.max(20, Math.min(250, Math.floor(this.#timeoutMs / 4)));
    this.#watchdog = setInterval(() => {
      const oldest = this.#queue[this.#head];
      if (oldest && Date.now() - oldest.sentAt > this.#timeoutMs) {
        this.#lastError = new Error(`no reply within ${this.#timeoutMs} ms`);
        this.#socket?.destroy();
      }
    }, every);
    this.#watchdog.unref();
  }

  #failAll(err: Error): void {
    const queue = this.#queue;
    const head = this.#head;
    this.#queue = [];
    this.#head = 0;
    for (let i = head; i < queue.length; i++) queue[i]!.reject(err);
  }

  #shift(): Pending | undefined {
    const pending = this.#queue[this.#head];
    if (!pending) return undefined;
    this.#queue[this.#head] = undefined as unknown as Pending;
    this.#head++;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return pending;
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered < this.#needed) return;
    const buffer = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, this.#buffered);
    let rest: Buffer;
    try {
      rest = this.#parse(buffer);
    } catch (err) {
      this.#lastError = err as Error;
      this.#socket?.destroy();
      return;
    }
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
  }

  /** Parse as many replies as `buffer` holds; return the unparsed rest. */
  #parse(buffer: Buffer): Buffer {
    let offset = 0;
    for (;;) {
      if (this.#valueOf) {
        const size = this.#valueOf.size;
        if (buffer.length - offset < size + 2) {
          this.#needed = size + 2;
          return buffer.subarray(offset);
        }
        // Copy: a subarray would pin the whole socket chunk for as long as the value lives.
        const value = Buffer.from(buffer.subarray(offset, offset + size));
        const flags = this.#valueOf.flags;
        this.#valueOf = undefined;
        offset += size + 2;
        const pending = this.#shift();
        if (pending?.kind === 'meta') pending.resolve({ status: 'VA', flags, value });
        continue;
      }
      const end = buffer.indexOf(CRLF, offset);
      if (end < 0) {
        this.#needed = 0;
        return buffer.subarray(offset);
      }
      const line = buffer.toString('latin1', offset, end);
      offset = end + 2;
      this.#onLine(line);
    }
  }

  #onLine(line: string): void {
    const pending = this.#queue[this.#head];
    if (!pending) throw new Error(`unexpected reply ${JSON.stringify(line.slice(0, 80))}`);
    if (line === 'ERROR' || line.startsWith('CLIENT_ERROR') || line.startsWith('SERVER_ERROR')) {
      const kind = line.split(' ', 1)[0] as 'ERROR' | 'CLIENT_ERROR' | 'SERVER_ERROR';
      this.#shift();
      pending.reject(new MemcachedError(kind, line));
      // After a client error the stream may be out of step (a mangled data block): resync.
      if (kind !== 'SERVER_ERROR') throw new Error(`memcached answered ${line}`);
      return;
    }
    if (pending.kind === 'lines') {
      if (line === 'END') {
        this.#shift();
        pending.resolve(pending.lines);
      } else {
        pending.lines.push(line);
      }
      return;
    }
    const tokens = line.split(' ');
    const status = tokens[0]!;
    if (status === 'VA') {
      const size = Number(tokens[1]);
      if (!Number.isInteger(size) || size < 0) throw new Error(`bad VA line ${line}`);
      this.#valueOf = { flags: parseFlags(tokens, 2), size };
      return;
    }
    this.#shift();
    pending.resolve({ status, flags: parseFlags(tokens, 1), value: undefined });
  }

  #downError(): MemcachedError {
    const why = this.#lastError?.message ?? 'not connected';
    return new MemcachedError('down', `memcached ${this.id} is unreachable: ${why}`, {
      cause: this.#lastError,
    });
  }

  #closedError(): MemcachedError {
    return new MemcachedError('closed', `connection to memcached ${this.id} was closed`);
  }

  #overloadError(): MemcachedError {
    return new MemcachedError(
      'overload',
      `more than ${this.#maxPending} requests in flight to memcached ${this.id}`,
    );
  }
}

function parseFlags(tokens: string[], from: number): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = from; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token !== '') flags[token[0]!] = token.slice(1);
  }
  return flags;
}

/**
 * The server for `key` by rendezvous (highest random weight) hashing over `host:port` ids: stable
 * whatever the order of the list, and adding a server moves only about 1/n of the keys (to it).
 */
export function pickServer<T extends { id: string }>(key: string, servers: readonly T[]): T {
  if (servers.length === 1) return servers[0]!;
  const keyHash = hash32(key);
  let best = servers[0]!;
  let bestScore = -1;
  for (const server of servers) {
    const score = mix32(keyHash ^ hash32(server.id));
    if (score > bestScore) {
      best = server;
      bestScore = score;
    }
  }
  return best;
}

/** FNV-1a over UTF-16 code units, 32 bits. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** MurmurHash3's finaliser: spreads every input bit over the output. */
function mix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
