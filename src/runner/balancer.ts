/**
 * The non-sticky HTTP load balancer in front of a formation's `web` instances.
 *
 * A node:http server (llhttp parses the client side) hands each request to the instance's
 * UpstreamPool (upstream.ts: kept-alive loopback sockets, no pipelining), so headers stay flat
 * arrays and bodies are streamed with back-pressure. Requests are balanced one by one — round
 * robin, or least outstanding — and two consecutive requests on one client connection never go to
 * the same instance while another is ready. See docs/balancer.md.
 * @module
 */

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { InvalidOptionError, PortInUseError } from '../errors.js';
import { backResponseHeaders, forwardRequestHeaders } from './balancer-headers.js';
import { proxyUpgrade } from './balancer-upgrade.js';
import { type UpstreamHandler, UpstreamPool } from './upstream.js';

/** How the next instance is chosen. */
export type BalancerStrategy = 'round-robin' | 'least-outstanding';

/** Options of {@link createBalancer}. */
export interface BalancerOptions {
  /** Port to listen on; `0` picks a free one (see `address()`). */
  port: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Default `round-robin`. */
  strategy?: BalancerStrategy;
  /** Keep and extend client-supplied `X-Forwarded-*` (only behind a proxy you run). Default false. */
  trustProxy?: boolean;
  /** Where the balancer reports what it does (quarantines, failed instances). */
  log?: (msg: string) => void;
  /** A client must send its request headers, and an instance its response headers, within this. Default 60 s. */
  headersTimeoutMs?: number;
  /** Keep-alive idle time of client and instance connections, and the longest silence within a body. Default 60 s. */
  idleTimeoutMs?: number;
  /** How long an instance that refused a connection gets no new requests. Default 5 s. */
  quarantineMs?: number;
  /** `Retry-After` (seconds) of the 503 sent when no instance is ready. Default 1. */
  retryAfterSeconds?: number;
}

/** An instance that may receive traffic. */
export interface BalancerInstance {
  /** Unique name, e.g. `web.1`. */
  id: string;
  host: string;
  port: number;
}

/** State of an instance as `list()` reports it. */
export type InstanceState = 'ready' | 'quarantined' | 'draining';

/** One row of `list()`. */
export interface InstanceInfo {
  id: string;
  port: number;
  /** Requests sent to it and not yet answered in full. WebSockets are not counted. */
  inFlight: number;
  state: InstanceState;
}

/** The balancer returned by {@link createBalancer}. */
export interface Balancer {
  /** Start listening. Rejects with `PortInUseError` when the port is taken. */
  listen(): Promise<void>;
  /** Route new requests to this instance (again, if it was drained). Replaces one with the same id. */
  add(instance: BalancerInstance): void;
  /** Stop routing new requests to it; resolves once its in-flight requests finished or after `timeoutMs`. */
  drain(id: string, timeoutMs: number): Promise<void>;
  /** Forget the instance (it died or was stopped). Unknown ids are ignored. */
  remove(id: string): void;
  /** Every known instance, in the order they were added. */
  list(): InstanceInfo[];
  /** The address actually bound (after `listen()`). */
  address(): { host: string; port: number };
  /** Stop listening, let in-flight requests finish (up to `timeoutMs`, default 5 s), then cut the rest. */
  close(timeoutMs?: number): Promise<void>;
}

interface Backend {
  id: string;
  host: string;
  port: number;
  pool: UpstreamPool;
  inFlight: number;
  draining: boolean;
  quarantined: boolean;
  quarantineTimer: NodeJS.Timeout | undefined;
  idleWaiters: (() => void)[];
}

/** Errors that mean the instance was never reached, so nothing of the request was sent. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'CONNECT_TIMEOUT',
]);

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The last instance a client connection was sent to, so the next request goes elsewhere. */
const lastBackend = Symbol('drove.balancer.last');
/** Exchanges in progress on a client connection, aborted if it closes. */
const exchanges = Symbol('drove.balancer.exchanges');
type TrackedSocket = Socket & {
  [lastBackend]?: Backend;
  [exchanges]?: Set<{ done: boolean; abort(): void }>;
};

/**
 * Create a balancer. Nothing listens until `listen()`; instances get traffic once `add()`ed.
 *
 * @example
 * ```ts
 * import { createBalancer } from 'drovejs/runner';
 * const lb = createBalancer({ port: 5000, strategy: 'round-robin', trustProxy: false });
 * await lb.listen();
 * lb.add({ id: 'web.1', host: '127.0.0.1', port: 5001 });
 * lb.add({ id: 'web.2', host: '127.0.0.1', port: 5002 });
 * await lb.drain('web.1', 30_000); // rolling restart: nothing new goes to web.1
 * lb.remove('web.1');
 * await lb.close();
 * ```
 */
export function createBalancer(options: BalancerOptions): Balancer {
  const host = options.host ?? '127.0.0.1';
  const strategy = options.strategy ?? 'round-robin';
  if (strategy !== 'round-robin' && strategy !== 'least-outstanding') {
    throw new InvalidOptionError({
      option: 'strategy',
      reason: `expected "round-robin" or "least-outstanding", got ${JSON.stringify(strategy)}`,
    });
  }
  const trustProxy = options.trustProxy ?? false;
  const log = options.log ?? (() => {});
  const headersTimeout = positive('headersTimeoutMs', options.headersTimeoutMs, 60_000);
  const idleTimeout = positive('idleTimeoutMs', options.idleTimeoutMs, 60_000);
  const quarantineMs = positive('quarantineMs', options.quarantineMs, 5_000);
  const retryAfter = String(positive('retryAfterSeconds', options.retryAfterSeconds, 1));

  const backends = new Map<string, Backend>();
  /** Backends that take new requests (not draining), in insertion order. */
  let routable: Backend[] = [];
  let cursor = 0;
  let closing = false;
  const upgraded = new Set<Duplex>();

  const refresh = () => {
    routable = [...backends.values()].filter((b) => !b.draining);
  };

  /**
   * Choose an instance: skip those already tried for this request, prefer not quarantined ones,
   * and avoid `avoid` (the connection's previous instance) whenever another one is available.
   */
  const pick = (tried: Backend[] | undefined, avoid: Backend | undefined): Backend | undefined => {
    const n = routable.length;
    if (n === 0) return undefined;
    let best: Backend | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    let bestIndex = 0;
    for (let k = 0; k < n; k++) {
      const index = (cursor + k) % n;
      const b = routable[index] as Backend;
      if (tried?.includes(b)) continue;
      // Round robin takes the first acceptable one in rotation order; least-outstanding the
      // least busy, ties going to rotation order. The penalties rank fallbacks last.
      let score = strategy === 'least-outstanding' ? b.inFlight : 0;
      if (b === avoid) score += 1e6;
      if (b.quarantined) score += 1e9;
      if (score < bestScore) {
        best = b;
        bestScore = score;
        bestIndex = index;
        if (score === 0 && strategy === 'round-robin') break;
      }
    }
    if (best) cursor = (bestIndex + 1) % n;
    return best;
  };

  const quarantine = (b: Backend, error: Error) => {
    if (!b.quarantined)
      log(
        `balancer: ${b.id} refused a connection (${describe(error)}); quarantined for ${quarantineMs} ms`,
      );
    b.quarantined = true;
    if (b.quarantineTimer) clearTimeout(b.quarantineTimer);
    b.quarantineTimer = setTimeout(() => {
      b.quarantined = false;
      b.quarantineTimer = undefined;
    }, quarantineMs);
    b.quarantineTimer.unref();
  };

  const finished = (b: Backend) => {
    b.inFlight--;
    if (b.inFlight === 0 && b.idleWaiters.length > 0) {
      const waiters = b.idleWaiters;
      b.idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket as TrackedSocket;
    const backend = pick(undefined, socket[lastBackend]);
    if (!backend) return unavailable(res, retryAfter);
    if (closing) res.shouldKeepAlive = false;
    const headers = forwardRequestHeaders(req.rawHeaders, {
      remoteAddress: socket.remoteAddress ?? '',
      proto: 'http',
      trustProxy,
      upgrade: false,
    });
    new ProxyExchange(req, res, headers, backend).send();
  };

  /** One client request, possibly tried on several instances when connecting fails. */
  class ProxyExchange implements UpstreamHandler {
    private tried: Backend[] | undefined;
    private abortUpstream: ((err?: Error) => void) | undefined;
    private resume: (() => void) | undefined;
    /** Response bytes announced by the instance, or -1 (chunked / unknown). */
    private contentLength = -1;
    /** A body that arrived in one piece, sent with `res.end()` (one write, no extra work). */
    private held: Buffer | undefined;
    done = false;
    private readonly hasBody: boolean;
    /** Kept here: `req.socket` is cleared once a request body has been read. */
    private readonly socket: TrackedSocket;

    constructor(
      private readonly req: IncomingMessage,
      private readonly res: ServerResponse,
      private readonly headers: string[],
      private backend: Backend,
    ) {
      this.hasBody =
        req.headers['transfer-encoding'] !== undefined ||
        (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
      this.socket = req.socket as TrackedSocket;
    }

    send(): void {
      const b = this.backend;
      b.inFlight++;
      this.socket[lastBackend] = b;
      this.socket[exchanges]?.add(this);
      b.pool.dispatch(
        {
          path: this.req.url ?? '/',
          method: this.req.method ?? 'GET',
          headers: this.headers,
          body: this.hasBody ? this.req : null,
        },
        this,
      );
    }

    /** The client connection closed: stop the instance's work if the response is not done. */
    abort(): void {
      if (!this.done) this.abortUpstream?.(new Error('client went away'));
    }

    onConnect(abort: (err?: Error) => void): void {
      this.abortUpstream = abort;
    }

    onHeaders(statusCode: number, raw: string[], resume: () => void, statusText: string): boolean {
      const res = this.res;
      if (res.destroyed || statusCode < 200) return true; // 1xx: the final status follows
      const back = backResponseHeaders(raw);
      this.contentLength = back.contentLength;
      this.resume = resume;
      // An answer that comes before the client's body is in (a 413, say): Node's server would
      // stall that connection on the unread rest, so it is closed after the response instead.
      if (closing || (this.hasBody && !this.req.complete)) res.shouldKeepAlive = false;
      res.writeHead(statusCode, statusText, back.headers);
      return true;
    }

    onData(chunk: Buffer): boolean {
      if (this.held === undefined && chunk.length === this.contentLength) {
        this.held = chunk;
        return true;
      }
      const ok = this.res.write(chunk);
      if (!ok) this.res.once('drain', this.resume as () => void);
      return ok;
    }

    onComplete(): void {
      this.settle();
      finished(this.backend);
      if (this.held) this.res.end(this.held);
      else this.res.end();
    }

    private settle(): void {
      this.done = true;
      this.socket[exchanges]?.delete(this);
    }

    onError(error: Error): void {
      if (this.done) {
        // Thrown by our own onComplete: the instance's part is already accounted for.
        this.res.destroy(error);
        return;
      }
      const b = this.backend;
      finished(b);
      const code = (error as NodeJS.ErrnoException).code ?? '';
      const connectFailed = CONNECT_ERRORS.has(code);
      if (connectFailed) quarantine(b, error);
      if (this.res.headersSent || this.res.destroyed) {
        this.settle();
        this.res.destroy(error);
        return;
      }
      const retryable =
        connectFailed || (!this.hasBody && IDEMPOTENT.has(this.req.method ?? '') && isReset(code));
      if (retryable) {
        this.tried ??= [];
        this.tried.push(b);
        const next = pick(this.tried, undefined);
        if (next) {
          this.backend = next;
          this.send();
          return;
        }
      }
      this.settle();
      log(`balancer: request to ${b.id} failed: ${describe(error)}`);
      if (code === 'HEADERS_TIMEOUT') gatewayError(this.res, 504, 'instance timed out');
      else gatewayError(this.res, 502, 'no instance could answer');
    }
  }

  const onUpgrade = async (req: IncomingMessage, client: Duplex, head: Buffer) => {
    client.on('error', () => {});
    const headers = forwardRequestHeaders(req.rawHeaders, {
      remoteAddress: (req.socket as Socket).remoteAddress ?? '',
      proto: 'http',
      trustProxy,
      upgrade: true,
    });
    const tried: Backend[] = [];
    for (;;) {
      const b = pick(tried, undefined);
      if (!b) {
        client.end(
          `HTTP/1.1 ${tried.length ? '502 Bad Gateway' : '503 Service Unavailable'}\r\n` +
            `retry-after: ${retryAfter}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
        );
        return;
      }
      tried.push(b);
      const outcome = await proxyUpgrade(req, client, head, b, headers);
      if (outcome.kind === 'connect-failed') {
        quarantine(b, outcome.error);
        continue;
      }
      if (outcome.kind === 'relayed') {
        upgraded.add(client);
        outcome.closed.then(() => upgraded.delete(client));
      }
      return;
    }
  };

  const server: Server = createServer({
    headersTimeout,
    requestTimeout: 0,
    keepAliveTimeout: idleTimeout,
  });
  // The instance's Date header is relayed; Node must not add a second one.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.sendDate = false;
    onRequest(req, res);
  });
  server.on('connection', (socket: TrackedSocket) => {
    const active = new Set<{ done: boolean; abort(): void }>();
    socket[exchanges] = active;
    socket.once('close', () => {
      for (const exchange of active) exchange.abort();
    });
  });
  server.on('upgrade', onUpgrade);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.writable && err.code !== 'ECONNRESET') {
      const status =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    } else {
      socket.destroy();
    }
  });

  let bound: { host: string; port: number } | undefined;

  return {
    listen() {
      return new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => {
          server.off('listening', onListening);
          if (err.code === 'EADDRINUSE') {
            reject(
              new PortInUseError({ port: options.port, host, owner: 'balancer' }, { cause: err }),
            );
          } else reject(err);
        };
        const onListening = () => {
          server.off('error', onError);
          const addr = server.address();
          bound =
            typeof addr === 'object' && addr
              ? { host, port: addr.port }
              : { host, port: options.port };
          resolve();
        };
        server.once('error', onError);
        server.once('listening', onListening);
        server.listen({ port: options.port, host });
      });
    },

    add(instance) {
      const existing = backends.get(instance.id);
      if (existing && existing.host === instance.host && existing.port === instance.port) {
        existing.draining = false;
        refresh();
        return;
      }
      if (existing) retire(existing);
      const pool = new UpstreamPool({
        host: instance.host,
        port: instance.port,
        // Shorter than the instance's own keep-alive (Node's default is 5 s), so that the
        // balancer, not the instance, closes an idle connection.
        keepAliveMs: Math.min(idleTimeout, 4_000),
        headersTimeoutMs: headersTimeout,
        bodyTimeoutMs: idleTimeout,
        connectTimeoutMs: 5_000,
      });
      backends.set(instance.id, {
        id: instance.id,
        host: instance.host,
        port: instance.port,
        pool,
        inFlight: 0,
        draining: false,
        quarantined: false,
        quarantineTimer: undefined,
        idleWaiters: [],
      });
      refresh();
    },

    drain(id, timeoutMs) {
      const b = backends.get(id);
      if (!b) return Promise.resolve();
      b.draining = true;
      refresh();
      if (b.inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        b.idleWaiters.push(done);
      });
    },

    remove(id) {
      const b = backends.get(id);
      if (!b) return;
      backends.delete(id);
      refresh();
      retire(b);
    },

    list() {
      return [...backends.values()].map((b) => ({
        id: b.id,
        port: b.port,
        inFlight: b.inFlight,
        state: b.draining ? 'draining' : b.quarantined ? 'quarantined' : 'ready',
      }));
    },

    address() {
      if (!bound)
        throw new InvalidOptionError({ option: 'address()', reason: 'call listen() first' });
      return bound;
    },

    async close(timeoutMs = 5_000) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Connections whose last response finishes during the wait become idle: close those too.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
      clearInterval(sweep);
      server.closeAllConnections();
      for (const socket of upgraded) socket.destroy();
      for (const b of [...backends.values()]) retire(b);
      backends.clear();
      refresh();
      await closed;
    },
  };

  /** Release an instance's pool once its in-flight requests are done (they may still finish). */
  function retire(b: Backend): void {
    if (b.quarantineTimer) clearTimeout(b.quarantineTimer);
    for (const w of b.idleWaiters.splice(0)) w();
    b.pool.close();
  }
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionError({ option, reason: `expected a positive number, got ${value}` });
  }
  return value;
}

function isReset(code: string): boolean {
  return code === 'ECONNRESET' || code === 'UPSTREAM_CLOSED' || code === 'EPIPE';
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}: ${error.message}` : error.message;
}

function unavailable(res: ServerResponse, retryAfter: string): void {
  res.sendDate = true;
  res.writeHead(503, {
    'content-type': 'text/plain; charset=utf-8',
    'retry-after': retryAfter,
    'content-length': 21,
  });
  res.end('no instance is ready\n');
}

function gatewayError(res: ServerResponse, status: number, message: string): void {
  const body = `${message}\n`;
  res.sendDate = true;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
