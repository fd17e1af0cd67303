/**
 * One proxied HTTP exchange: a client's request sent to an instance's UpstreamPool and its
 * response streamed back with back-pressure, tried on another instance when retry.ts allows it.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { BadGatewayError, GatewayTimeoutError } from '../errors.js';
import { answer } from './answers.js';
import { backResponseHeaders } from './balancer-headers.js';
import { mayRetryElsewhere, neverReached } from './retry.js';
import type { Candidate } from './selection.js';
import type { UpstreamHandler, UpstreamPool } from './upstream.js';

/** An instance as the balancer keeps it. */
export interface Backend extends Candidate {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly pool: UpstreamPool;
  inFlight: number;
  draining: boolean;
  /** Called once its in-flight requests are all answered (drain() waits on it). */
  idleWaiters: (() => void)[];
}

/** What an exchange asks of the balancer. */
export interface ExchangeHost {
  /** The balancer is closing: client connections are not kept alive. */
  readonly closing: boolean;
  /** Another instance for this request, none of `tried`. */
  next(tried: readonly Backend[], client: string): Backend | undefined;
  /** `backend` could not be connected to. */
  refused(backend: Backend, error: Error): void;
  /** `backend` is done with one request (answered or failed). */
  finished(backend: Backend): void;
  /** A request is being sent to `backend` (a first attempt or a retry). */
  dispatched?(backend: Backend): void;
  log(message: string): void;
}

/** The last instance a client connection was sent to, so the next request goes elsewhere. */
const lastBackend = Symbol('drove.balancer.last');
/** Exchanges in progress on a client connection, aborted if it closes. */
const exchanges = Symbol('drove.balancer.exchanges');
/** The connection's client key for selection. */
const clientKey = Symbol('drove.balancer.client');
type TrackedSocket = Socket & {
  [lastBackend]?: Backend;
  [exchanges]?: Set<ProxyExchange>;
  [clientKey]?: string;
};

let connections = 0;

/** Follow a new client connection: its exchanges are aborted when it closes. */
export function trackConnection(socket: Socket): void {
  const tracked = socket as TrackedSocket;
  const active = new Set<ProxyExchange>();
  tracked[exchanges] = active;
  tracked[clientKey] = `connection:${++connections}`;
  socket.once('close', () => {
    for (const exchange of active) exchange.abort();
  });
}

/** The selection key of a client connection, and the instance it was sent to last. */
export function clientOf(socket: Socket): { client: string; last: Backend | undefined } {
  const tracked = socket as TrackedSocket;
  return { client: tracked[clientKey] ?? '', last: tracked[lastBackend] };
}

/** One client request, possibly tried on several instances when connecting fails. */
export class ProxyExchange implements UpstreamHandler {
  readonly #host: ExchangeHost;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #headers: string[];
  #backend: Backend;
  #tried: Backend[] | undefined;
  #abortUpstream: ((err?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  /** Response bytes announced by the instance, or -1 (chunked / unknown). */
  #contentLength = -1;
  /** A body that arrived in one piece, sent with `res.end()` (one write, no extra work). */
  #held: Buffer | undefined;
  #done = false;
  readonly #hasBody: boolean;
  /** Kept here: `req.socket` is cleared once a request body has been read. */
  readonly #socket: TrackedSocket;

  constructor(
    host: ExchangeHost,
    req: IncomingMessage,
    res: ServerResponse,
    headers: string[],
    backend: Backend,
  ) {
    this.#host = host;
    this.#req = req;
    this.#res = res;
    this.#headers = headers;
    this.#backend = backend;
    this.#hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    this.#socket = req.socket as TrackedSocket;
  }

  send(): void {
    const b = this.#backend;
    b.inFlight++;
    this.#host.dispatched?.(b);
    this.#socket[lastBackend] = b;
    this.#socket[exchanges]?.add(this);
    b.pool.dispatch(
      {
        path: this.#req.url ?? '/',
        method: this.#req.method ?? 'GET',
        headers: this.#headers,
        body: this.#hasBody ? this.#req : null,
      },
      this,
    );
  }

  /** The client connection closed: stop the instance's work if the response is not done. */
  abort(): void {
    if (!this.#done) this.#abortUpstream?.(new Error('client went away'));
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abortUpstream = abort;
  }

  onHeaders(statusCode: number, raw: string[], resume: () => void, statusText: string): boolean {
    const res = this.#res;
    if (res.destroyed || statusCode < 200) return true; // 1xx: the final status follows
    const back = backResponseHeaders(raw);
    this.#contentLength = back.contentLength;
    this.#resume = resume;
    // An answer that comes before the client's body is in (a 413, say): Node's server would
    // stall that connection on the unread rest, so it is closed after the response instead.
    if (this.#host.closing || (this.#hasBody && !this.#req.complete)) res.shouldKeepAlive = false;
    res.writeHead(statusCode, statusText, back.headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#held === undefined && chunk.length === this.#contentLength) {
      this.#held = chunk;
      return true;
    }
    const ok = this.#res.write(chunk);
    if (!ok) this.#res.once('drain', this.#resume as () => void);
    return ok;
  }

  onComplete(): void {
    this.#settle();
    this.#host.finished(this.#backend);
    if (this.#held) this.#res.end(this.#held);
    else this.#res.end();
  }

  onError(error: Error): void {
    if (this.#done) {
      // Thrown by our own onComplete: the instance's part is already accounted for.
      this.#res.destroy(error);
      return;
    }
    const b = this.#backend;
    this.#host.finished(b);
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (neverReached(code)) this.#host.refused(b, error);
    if (this.#res.headersSent || this.#res.destroyed) {
      this.#settle();
      this.#res.destroy(error);
      return;
    }
    const method = this.#req.method ?? '';
    if (mayRetryElsewhere({ method, hasBody: this.#hasBody, code })) {
      this.#tried ??= [];
      this.#tried.push(b);
      const next = this.#host.next(this.#tried, clientOf(this.#socket).client);
      if (next) {
        this.#backend = next;
        this.send();
        return;
      }
    }
    this.#settle();
    this.#host.log(`balancer: request to ${b.id} failed: ${describeError(error)}`);
    if (code === 'HEADERS_TIMEOUT') answer(this.#res, new GatewayTimeoutError({}));
    else answer(this.#res, new BadGatewayError({}));
  }

  #settle(): void {
    this.#done = true;
    this.#socket[exchanges]?.delete(this);
  }
}

/** An error as the balancer logs it: its code, then its message. */
export function describeError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}: ${error.message}` : error.message;
}
