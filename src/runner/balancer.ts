/**
 * The non-sticky HTTP load balancer in front of a formation's `web` instances.
 *
 * A node:http server (llhttp parses the client side) asks the Selector (selection.ts) for an
 * instance and hands the request to a ProxyExchange (exchange.ts), which sends it through the
 * instance's UpstreamPool (upstream.ts: kept-alive loopback sockets, no pipelining) and streams
 * the response back; retry.ts says when a failed request goes again. Requests are balanced one by
 * one, and two consecutive requests on one client connection never go to the same instance while
 * another is ready. This file owns the server, the instances' lifecycle and WebSocket upgrades.
 * See docs/balancer.md and docs/architecture.md.
 * @module
 */

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  BadGatewayError,
  BadRequestError,
  InvalidOptionError,
  MethodNotAllowedError,
  NoInstanceError,
  PortInUseError,
  RequestTimeoutError,
} from '../errors.js';
import { positive } from '../internal/options.js';
import { answer, answerRaw } from './answers.js';
import { forwardRequestHeaders, requestHost } from './balancer-headers.js';
import { proxyUpgrade } from './balancer-upgrade.js';
import {
  type Backend,
  clientOf,
  describeError,
  type ExchangeHost,
  ProxyExchange,
  trackConnection,
} from './exchange.js';
import { type BalancerStrategy, isStrategy, Selector, STRATEGIES } from './selection.js';
import { UpstreamPool } from './upstream.js';

export type { BalancerStrategy } from './selection.js';

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
  /** Told of every request sent to an instance, first attempts and retries (tests, `drove check`). */
  onDispatch?: (instanceId: string) => void;
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
  const strategy: BalancerStrategy = options.strategy ?? 'round-robin';
  if (!isStrategy(strategy)) {
    throw new InvalidOptionError({
      option: 'strategy',
      reason: `expected ${Object.keys(STRATEGIES)
        .map((name) => JSON.stringify(name))
        .join(' or ')}, got ${JSON.stringify(strategy)}`,
    });
  }
  const trustProxy = options.trustProxy ?? false;
  const log = options.log ?? (() => {});
  const headersTimeout = positive('headersTimeoutMs', options.headersTimeoutMs, {
    fallback: 60_000,
  });
  const idleTimeout = positive('idleTimeoutMs', options.idleTimeoutMs, { fallback: 60_000 });
  const quarantineMs = positive('quarantineMs', options.quarantineMs, { fallback: 5_000 });
  const retryAfter = String(
    positive('retryAfterSeconds', options.retryAfterSeconds, { fallback: 1 }),
  );

  const backends = new Map<string, Backend>();
  const selector = new Selector<Backend>({ strategy: STRATEGIES[strategy](), quarantineMs });
  let closing = false;
  const upgraded = new Set<Duplex>();

  const quarantine = (b: Backend, error: Error) => {
    if (selector.quarantine(b))
      log(
        `balancer: ${b.id} refused a connection (${describeError(error)}); quarantined for ${quarantineMs} ms`,
      );
  };

  const finished = (b: Backend) => {
    b.inFlight--;
    if (b.inFlight === 0 && b.idleWaiters.length > 0) {
      const waiters = b.idleWaiters;
      b.idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  const exchangeHost: ExchangeHost = {
    get closing() {
      return closing;
    },
    next: (tried, client) => selector.pick({ exclude: tried, client }),
    refused: quarantine,
    finished,
    ...(options.onDispatch ? { dispatched: (b: Backend) => options.onDispatch?.(b.id) } : {}),
    log,
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const host = requestHost(req.rawHeaders, req.httpVersion);
    if ('refused' in host) {
      res.shouldKeepAlive = false;
      return answer(res, new BadRequestError({ reason: host.refused }));
    }
    const socket = req.socket;
    const { client, last } = clientOf(socket);
    const backend = selector.pick({ avoid: last, client });
    if (!backend) return answer(res, new NoInstanceError({}), { 'retry-after': retryAfter });
    if (closing) res.shouldKeepAlive = false;
    const headers = forwardRequestHeaders(req.rawHeaders, {
      remoteAddress: socket.remoteAddress ?? '',
      proto: 'http',
      trustProxy,
      upgrade: false,
    });
    new ProxyExchange(exchangeHost, req, res, headers, backend).send();
  };

  const onUpgrade = async (req: IncomingMessage, client: Duplex, head: Buffer) => {
    client.on('error', () => {});
    const host = requestHost(req.rawHeaders, req.httpVersion);
    if ('refused' in host) return answerRaw(client, new BadRequestError({ reason: host.refused }));
    const headers = forwardRequestHeaders(req.rawHeaders, {
      remoteAddress: (req.socket as Socket).remoteAddress ?? '',
      proto: 'http',
      trustProxy,
      upgrade: true,
    });
    const tried: Backend[] = [];
    const { client: key } = clientOf(req.socket);
    for (;;) {
      const b = selector.pick({ exclude: tried, client: key });
      if (!b) {
        const error = tried.length ? new BadGatewayError({}) : new NoInstanceError({});
        return answerRaw(client, error, { 'retry-after': retryAfter });
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
    // requestHost() answers a missing Host itself, as JSON like every other refusal.
    requireHostHeader: false,
    headersTimeout,
    requestTimeout: 0,
    keepAliveTimeout: idleTimeout,
  });
  // The instance's Date header is relayed; Node must not add a second one.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.sendDate = false;
    onRequest(req, res);
  });
  server.on('connection', trackConnection);
  server.on('upgrade', onUpgrade);
  // Node hands CONNECT to this event and, with no listener, closes the connection unanswered.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => {});
    answerRaw(socket, new MethodNotAllowedError({ method: req.method ?? 'CONNECT' }), {
      allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (socket.writable && err.code !== 'ECONNRESET') {
      answerRaw(
        socket,
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new RequestTimeoutError({})
          : new BadRequestError({ reason: 'the request could not be parsed' }),
      );
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
        selector.markUp(existing);
        return;
      }
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
      const backend: Backend = {
        id: instance.id,
        host: instance.host,
        port: instance.port,
        pool,
        inFlight: 0,
        draining: false,
        idleWaiters: [],
      };
      // Map.set keeps the old entry's place, and the selector its place in the rotation.
      backends.set(instance.id, backend);
      if (existing) {
        selector.replace(existing, backend);
        retire(existing);
      } else selector.add(backend);
    },

    drain(id, timeoutMs) {
      const b = backends.get(id);
      if (!b) return Promise.resolve();
      b.draining = true;
      selector.markDown(b);
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
      selector.remove(b);
      retire(b);
    },

    list() {
      return [...backends.values()].map((b) => ({
        id: b.id,
        port: b.port,
        inFlight: b.inFlight,
        state: b.draining ? 'draining' : selector.isQuarantined(b) ? 'quarantined' : 'ready',
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
      for (const b of [...backends.values()]) {
        selector.remove(b);
        retire(b);
      }
      backends.clear();
      await closed;
    },
  };

  /** Release an instance's pool once its in-flight requests are done (they may still finish). */
  function retire(b: Backend): void {
    for (const w of b.idleWaiters.splice(0)) w();
    b.pool.close();
  }
}
