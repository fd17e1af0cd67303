/**
 * The balancer's connections to one instance: kept-alive loopback sockets, one request at a time
 * on each, written as one string and read with ResponseParser.
 *
 * Why not a general HTTP client such as undici: on 2 cores its per-request machinery cost the
 * balancer about a third of its CPU per proxied request, and the bench's Express backends had to
 * share the cores with it (docs/benchmarks.md, "Balancer"). The balancer only ever talks plain
 * HTTP/1.1 to drove's own instances on loopback, which needs much less than a general client.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { BadResponseError, type ResponseHead, ResponseParser } from './http1-response.js';
import { mayResendFresh } from './retry.js';

/** What the balancer's exchange hears about its request (the order is always the same). */
export interface UpstreamHandler {
  /** The request is under way; `abort` drops it (and its connection). */
  onConnect(abort: (err?: Error) => void): void;
  /** The response head. Flat header list; `resume` continues a paused body. */
  onHeaders(status: number, headers: string[], resume: () => void, statusText: string): boolean;
  /** A piece of the body; false pauses reading until `resume`. */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  /** Failed before onComplete; `code` says how (see UpstreamErrorCode). */
  onError(err: Error): void;
}

/** Codes of the errors given to onError, besides the socket's own (ECONNREFUSED, ECONNRESET…). */
export type UpstreamErrorCode =
  | 'CONNECT_TIMEOUT'
  | 'CONNECT_RESET'
  | 'HEADERS_TIMEOUT'
  | 'BODY_TIMEOUT'
  | 'UPSTREAM_CLOSED'
  | 'BAD_RESPONSE';

export interface UpstreamRequest {
  method: string;
  path: string;
  /** Flat `[name, value, …]` list without hop-by-hop headers. */
  headers: string[];
  /** The client's request to stream as the body, or null for none. */
  body: IncomingMessage | null;
}

export interface UpstreamOptions {
  host: string;
  port: number;
  /** How long an idle connection is kept. */
  keepAliveMs: number;
  /** From sending the request to the end of the response head. */
  headersTimeoutMs: number;
  /** Longest silence within a response body. */
  bodyTimeoutMs: number;
  connectTimeoutMs: number;
}

function upstreamError(message: string, code: UpstreamErrorCode): Error {
  return Object.assign(new Error(message), { code });
}

/** Kept-alive connections to one instance. */
export class UpstreamPool {
  readonly #options: UpstreamOptions;
  readonly #hostHeader: string;
  /** Idle connections, most recently used last. */
  #idle: Connection[] = [];
  #closed = false;

  constructor(options: UpstreamOptions) {
    this.#options = options;
    const { host, port } = options;
    this.#hostHeader = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  get options(): UpstreamOptions {
    return this.#options;
  }

  /**
   * Send a request. Every outcome reaches `handler`, never a throw. `fresh` skips the kept-alive
   * connections (a retry after one turned out to be closed).
   */
  dispatch(request: UpstreamRequest, handler: UpstreamHandler, fresh = false): void {
    let conn = fresh ? undefined : this.#idle.pop();
    while (conn && !conn.usable) conn = this.#idle.pop();
    const reused = conn !== undefined;
    conn ??= new Connection(this);
    conn.send(request, handler, reused, this.#head(request));
  }

  /**
   * The request head. Method, path and the client's headers were checked by Node's parser on the
   * way in (no CR or LF can be in them), and the balancer's own headers are built from checked
   * values, so they are written as they are.
   */
  #head(request: UpstreamRequest): string {
    let text = `${request.method} ${request.path} HTTP/1.1\r\n`;
    const headers = request.headers;
    let host = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (!host && name.length === 4 && name.toLowerCase() === 'host') host = true;
      text += `${name}: ${headers[i + 1]}\r\n`;
    }
    if (!host) text += `host: ${this.#hostHeader}\r\n`;
    if (request.body && !hasHeader(headers, 'content-length')) {
      text += 'transfer-encoding: chunked\r\n';
    }
    return `${text}connection: keep-alive\r\n\r\n`;
  }

  /** A connection finished its exchange: keep it for the next one, or let it go. */
  release(conn: Connection, reusable: boolean): void {
    if (reusable && !this.#closed) {
      conn.idle(this.#options.keepAliveMs);
      this.#idle.push(conn);
    } else conn.destroy();
  }

  /** A connection went away (closed by either side). */
  forget(conn: Connection): void {
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  /** Stop keeping connections; exchanges under way finish on theirs. */
  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.destroy();
  }
}

function hasHeader(headers: string[], lower: string): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === lower) return true;
  }
  return false;
}

/** One socket to the instance and the exchange it carries, if any. */
class Connection {
  readonly #pool: UpstreamPool;
  readonly #socket: Socket;
  readonly #parser: ResponseParser;
  #connected = false;
  #handler: UpstreamHandler | undefined;
  #request: UpstreamRequest | undefined;
  #body: IncomingMessage | null = null;
  /** Detaches from the client's body while it is being sent. */
  #stopBody: (() => void) | undefined;
  /** The request (head and body) went out in full. */
  #sent = false;
  #keepAlive = false;
  /** No byte of the current response arrived yet (a reused socket's reset is then retryable). */
  #fresh = true;
  #reused = false;
  #timeoutCode: UpstreamErrorCode = 'CONNECT_TIMEOUT';
  /** The response is complete (the request body may still be on its way). */
  #ended = false;
  /** The instance's own idle limit for this connection, from its last response. */
  #serverKeepAliveMs: number | undefined;

  constructor(pool: UpstreamPool) {
    this.#pool = pool;
    const { host, port, connectTimeoutMs } = pool.options;
    this.#parser = new ResponseParser({
      onHead: (head) => this.#onHead(head),
      onBody: (chunk) => this.#onBody(chunk),
      onEnd: (extra) => this.#onEnd(extra),
    });
    const socket = connect({ host, port, noDelay: true });
    this.#socket = socket;
    socket.setTimeout(connectTimeoutMs);
    socket.once('connect', () => {
      this.#connected = true;
      if (this.#handler) this.#awaitHead();
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('timeout', () => {
      const code = this.#timeoutCode;
      socket.destroy(this.#handler ? upstreamError(`instance: ${code}`, code) : undefined);
    });
    socket.on('error', () => {}); // reported through 'close'
    socket.on('close', () => this.#onClose());
    socket.on('end', () => {
      // Half-closed by the instance: a body that runs until the close is complete now.
      if (this.#handler && this.#parser.untilClose) this.#parser.finish();
      socket.end();
    });
    socket.on('drain', () => this.#body?.resume());
  }

  get usable(): boolean {
    return !this.#socket.destroyed && this.#socket.readyState === 'open';
  }

  send(request: UpstreamRequest, handler: UpstreamHandler, reused: boolean, head: string): void {
    this.#handler = handler;
    this.#request = request;
    this.#reused = reused;
    this.#fresh = true;
    this.#sent = false;
    this.#parser.start(request.method === 'HEAD');
    // A new socket keeps its connect timeout until it is connected.
    if (this.#connected) this.#awaitHead();
    handler.onConnect((err) => this.destroy(err ?? upstreamError('aborted', 'UPSTREAM_CLOSED')));
    this.#socket.write(head, 'latin1');
    const body = request.body;
    if (!body) {
      this.#sent = true;
      return;
    }
    // The body is read only once the instance is reached: a refused connection leaves it
    // unread, so the balancer can send the request to another instance.
    const chunked = !hasHeader(request.headers, 'content-length');
    if (this.#connected) this.#streamBody(body, chunked);
    else this.#socket.once('connect', () => this.#streamBody(body, chunked));
  }

  #awaitHead(): void {
    this.#timeoutCode = 'HEADERS_TIMEOUT';
    this.#socket.setTimeout(this.#pool.options.headersTimeoutMs);
  }

  #streamBody(body: IncomingMessage, chunked: boolean): void {
    this.#body = body;
    const socket = this.#socket;
    const onData = (chunk: Buffer) => {
      // An empty chunk would read as the last one ("0\r\n\r\n").
      if (socket.destroyed || chunk.length === 0) return;
      let ok: boolean;
      if (chunked) {
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        ok = socket.write('\r\n', 'latin1');
      } else ok = socket.write(chunk);
      if (!ok) body.pause();
    };
    const onEnd = () => {
      cleanup();
      if (chunked && !socket.destroyed) socket.write('0\r\n\r\n');
      this.#sent = true;
      this.#body = null;
      this.#maybeRelease();
    };
    const onAborted = () => {
      cleanup();
      this.destroy(upstreamError('client request body aborted', 'UPSTREAM_CLOSED'));
    };
    const cleanup = () => {
      this.#stopBody = undefined;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('aborted', onAborted);
      body.off('error', onAborted);
    };
    this.#stopBody = cleanup;
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('aborted', onAborted);
    body.once('error', onAborted);
  }

  /**
   * Wait for the next exchange, at most `keepAliveMs`, and a second less than the instance said
   * it waits itself: the balancer lets go first, so it does not reuse a connection as the
   * instance closes it.
   */
  idle(keepAliveMs: number): void {
    this.#handler = undefined;
    this.#timeoutCode = 'HEADERS_TIMEOUT';
    // The last exchange may have ended paused (its client was slow and its response is done):
    // the next one must read.
    this.#socket.resume();
    const server = this.#serverKeepAliveMs;
    const limit = server === undefined ? keepAliveMs : Math.min(keepAliveMs, server - 1_000);
    if (limit <= 0) {
      this.#socket.destroy();
      return;
    }
    this.#socket.setTimeout(limit);
  }

  destroy(err?: Error): void {
    this.#socket.destroy(err);
  }

  #onData(chunk: Buffer): void {
    if (!this.#handler) {
      // Bytes nobody asked for on an idle connection: it cannot be trusted any more.
      this.#socket.destroy();
      return;
    }
    this.#fresh = false;
    try {
      this.#parser.execute(chunk);
    } catch (err) {
      const bad =
        err instanceof BadResponseError ? err : upstreamError(String(err), 'BAD_RESPONSE');
      this.#socket.destroy(bad);
    }
  }

  #onHead(head: ResponseHead): void {
    this.#keepAlive = head.keepAlive;
    this.#serverKeepAliveMs = head.keepAliveMs;
    this.#timeoutCode = 'BODY_TIMEOUT';
    this.#socket.setTimeout(this.#pool.options.bodyTimeoutMs);
    this.#handler?.onHeaders(
      head.status,
      head.headers,
      () => this.#socket.resume(),
      head.statusText,
    );
  }

  #onBody(chunk: Buffer): void {
    const handler = this.#handler;
    if (handler && handler.onData(chunk) === false) this.#socket.pause();
  }

  #onEnd(extra: boolean): void {
    const handler = this.#handler;
    if (!handler) return;
    this.#ended = true;
    if (extra) this.#keepAlive = false;
    this.#maybeRelease();
    try {
      handler.onComplete();
    } catch (err) {
      // The exchange's own failure while finishing: it decides what the client gets.
      handler.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Once both the response and the request body are done, hand the connection back. */
  #maybeRelease(): void {
    if (!this.#ended || !this.#handler) return;
    if (!this.#sent) {
      // The instance answered before the body was sent in full: the connection cannot be
      // reused, and the rest of the client's body is read and dropped, so that the client's
      // own connection does not stall on it.
      this.#keepAlive = false;
      const body = this.#body;
      this.#stopBody?.();
      this.#body = null;
      body?.resume();
    }
    const reusable = this.#keepAlive && this.#sent && !this.#socket.destroyed;
    this.#handler = undefined;
    this.#ended = false;
    this.#pool.release(this, reusable);
  }

  #onClose(): void {
    const handler = this.#handler;
    this.#handler = undefined;
    this.#pool.forget(this);
    if (!handler) return;
    if (this.#parser.untilClose && this.#parser.finish()) return; // onEnd already ran
    const cause = (this.#socket as Socket & { errored?: Error | null }).errored ?? undefined;
    const request = this.#request;
    const timedOut = (cause as { code?: string } | undefined)?.code?.endsWith('_TIMEOUT');
    // A kept-alive connection the instance closed as we reused it: nothing was answered, and
    // the instance is fine (retry.ts says what may go again on a new connection).
    const staleReuse = this.#reused && this.#fresh && !timedOut;
    if (
      request &&
      mayResendFresh({ method: request.method, hasBody: request.body !== null }, staleReuse)
    ) {
      this.#pool.dispatch(request, handler, true);
      return;
    }
    handler.onError(this.#connected ? (cause ?? closedMidResponse()) : connectFailure(cause));
  }
}

function closedMidResponse(): Error {
  return upstreamError('instance closed the connection mid-response', 'UPSTREAM_CLOSED');
}

/**
 * Whatever ended a connection before it was established (refused, timed out, or reset while
 * connecting: an instance killed with connections in its accept queue resets them) means nothing
 * of the request left the balancer, so retry.ts may send it to another instance.
 */
function connectFailure(cause: Error | undefined): Error {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'CONNECT_TIMEOUT') return cause as Error;
  const failure = upstreamError(
    `instance: connection failed before it was established (${code ?? 'closed'})`,
    'CONNECT_RESET',
  );
  if (cause) failure.cause = cause;
  return failure;
}
