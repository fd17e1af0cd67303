/**
 * The node:http side shared by `drovejs/session/node` and `drovejs/session/express`: load the session,
 * then hold the response head (writeHead/write/end) until the save settled, so that a failed save
 * is visible to the client and the cookie goes out with the headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  type CompatSessionOptions,
  fromExpressSession,
  warnIgnored,
} from './express-session-options.js';
import { answerFor } from './respond.js';
import { createSessionStoreView, type SessionStoreView } from './session-store-view.js';
import { createSessions, nodeRequest } from './sessions.js';
import type { Session, SessionData } from './types.js';

/** `next` of a connect-style middleware. */
export type NextFunction = (err?: unknown) => void;

/** The request/response middleware both node adapters return. */
export type NodeSessionMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: NextFunction,
) => void;

/** How a node adapter hands on what it does not answer itself. */
export interface NodeMiddlewareOptions {
  /**
   * Where errors go that are not drove's own (bugs): `'next'` passes them to `next(err)` as
   * Express expects; `'answer'` answers 500 unless `errors: 'pass'` (node:http has no error handler).
   */
  unansweredErrors: 'next' | 'answer';
}

/** A request once the middleware ran: the session, and its id as express-session names it. */
type SessionIncoming<T extends SessionData> = IncomingMessage & {
  session: Session<T>;
  readonly sessionID: string;
  sessionStore: SessionStoreView;
};

export function createNodeMiddleware<T extends SessionData>(
  given: CompatSessionOptions<T>,
  { unansweredErrors }: NodeMiddlewareOptions,
): (req: IncomingMessage, res: ServerResponse, next: NextFunction) => unknown {
  const { options, ignored } = fromExpressSession(given);
  const sessions = createSessions(options);
  const sessionStore = createSessionStoreView(sessions);
  warnIgnored(ignored);
  const { errors, retryAfterSeconds } = options;

  const fail = (err: unknown, res: ServerResponse, next: NextFunction) => {
    const answer = answerFor(err, errors, retryAfterSeconds);
    if (!answer && unansweredErrors === 'next') return next(err);
    if (res.headersSent) return res.destroy(err instanceof Error ? err : undefined);
    if (!answer && errors === 'pass') return next(err);
    const { status, headers, body } = answer ?? {
      status: 500,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'Internal Server Error',
    };
    // The handler's own headers (Content-Length above all) describe a response that is not sent.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.writeHead(status, headers).end(body);
  };

  return (req, res, next) => {
    const request = nodeRequest(
      req.method,
      req.headers,
      (req.socket as TLSSocket | undefined)?.encrypted === true,
    );
    sessions.load(request).then(
      (current) => {
        const withSession = req as SessionIncoming<T>;
        withSession.session = current.session;
        withSession.sessionStore = sessionStore;
        // express-session's shapes: `req.sessionID`, and a new `req.session` after regenerate().
        Object.defineProperty(req, 'sessionID', {
          get: () => current.id,
          configurable: true,
          enumerable: true,
        });
        current.replaceOnRegenerate((replaced) => {
          withSession.session = replaced;
        });
        holdHead(res, current, (err) => fail(err, res, next));
        const handled = next() as unknown;
        // node:http has no error handler: a drove error thrown by an async handler (a store
        // outage inside update()) is answered here, as the middleware answers its own.
        if (unansweredErrors === 'answer' && errors !== 'pass' && isThenable(handled)) {
          handled.then(undefined, (err: unknown) => fail(err, res, next));
        }
      },
      (err: unknown) => fail(err, res, next),
    );
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

type Call = [fn: (...args: unknown[]) => unknown, args: unknown[]];

const kHold = Symbol('drove.hold');

/** A response whose head waits for the session's save. */
interface Held extends ServerResponse {
  [kHold]: Hold;
}

/** What a held response queued, and what settles it. */
class Hold {
  readonly queue: Call[] = [];
  head: unknown[] | undefined;
  started = false;
  // The methods in place when the hold began: middleware that ran before (compression, say) may
  // have wrapped them, and the queued calls must go through those wrappers.
  readonly writeHead: ServerResponse['writeHead'];
  readonly write: ServerResponse['write'];
  readonly end: ServerResponse['end'];
  constructor(
    res: ServerResponse,
    readonly commit: { commit(): Promise<string[]> },
    readonly onError: (err: unknown) => void,
  ) {
    this.writeHead = res.writeHead;
    this.write = res.write;
    this.end = res.end;
  }
}

/**
 * Queue writeHead/write/end until `commit` settles, then send its Set-Cookie lines with the head.
 * The stand-ins are shared functions that find the request's state on the response: a request
 * allocates one Hold, not a closure per method.
 */
function holdHead(
  res: ServerResponse,
  current: { commit(): Promise<string[]> },
  onError: (err: unknown) => void,
): void {
  (res as Held)[kHold] = new Hold(res, current, onError);
  res.writeHead = heldWriteHead as ServerResponse['writeHead'];
  res.write = heldWrite as ServerResponse['write'];
  res.end = heldEnd as ServerResponse['end'];
}

function heldWriteHead(this: Held, ...args: unknown[]) {
  this[kHold].head = args;
  startCommit(this);
  return this;
}

function heldWrite(this: Held, ...args: unknown[]) {
  this[kHold].queue.push([this[kHold].write as Call[0], args]);
  startCommit(this);
  return true;
}

function heldEnd(this: Held, ...args: unknown[]) {
  this[kHold].queue.push([this[kHold].end as Call[0], args]);
  startCommit(this);
  return this;
}

/** The stand-ins give way to the methods they stood in for. */
function release(res: ServerResponse, hold: Hold): void {
  res.writeHead = hold.writeHead;
  res.write = hold.write;
  res.end = hold.end;
}

function startCommit(res: Held): void {
  const hold = res[kHold];
  if (hold.started) return;
  hold.started = true;
  hold.commit.commit().then(
    (cookies) => {
      release(res, hold);
      if (cookies.length > 0) addCookies(res, hold.head, cookies);
      if (hold.head) (hold.writeHead as (...a: unknown[]) => unknown).apply(res, hold.head);
      for (const [fn, args] of hold.queue) fn.apply(res, args);
    },
    (err: unknown) => {
      release(res, hold);
      hold.onError(err);
    },
  );
}

/** Append Set-Cookie lines, also when the held writeHead call passes its own set-cookie. */
function addCookies(res: ServerResponse, head: unknown[] | undefined, cookies: string[]): void {
  const headers = head?.findLast((a) => a !== null && typeof a === 'object' && !Array.isArray(a)) as
    | Record<string, unknown>
    | undefined;
  const name = headers && Object.keys(headers).find((k) => k.toLowerCase() === 'set-cookie');
  if (headers && name) {
    headers[name] = [headers[name] as string | string[], cookies].flat();
    return;
  }
  res.appendHeader('set-cookie', cookies);
}
