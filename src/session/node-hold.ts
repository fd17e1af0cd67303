/**
 * The node:http side shared by `drove/session/node` and `drove/session/express`: load the session,
 * then hold the response head (writeHead/write/end) until the save settled, so that a failed save
 * is visible to the client and the cookie goes out with the headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { answerFor } from './respond.js';
import { createSessions, nodeRequest } from './sessions.js';
import type { AdapterOptions, Session, SessionData, SessionOptions } from './types.js';

/** `next` of a connect-style middleware. */
export type NextFunction = (err?: unknown) => void;

/** The request/response middleware both node adapters return. */
export type NodeSessionMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: NextFunction,
) => void;

export function createNodeMiddleware<T extends SessionData>(
  options: SessionOptions<T> & AdapterOptions,
  /** Where errors go that are not answered here: express passes them to `next`. */
  passToNext: boolean,
): (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void {
  const sessions = createSessions(options);
  const { errors, retryAfterSeconds } = options;

  const fail = (err: unknown, res: ServerResponse, next: NextFunction) => {
    const answer = answerFor(err, errors, retryAfterSeconds);
    if (!answer && passToNext) return next(err);
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
    const refused = sessions.checkCsrf(request);
    if (refused) return fail(refused, res, next);
    sessions.load(request).then(
      (current) => {
        (req as IncomingMessage & { session: Session<T> }).session = current.session;
        holdHead(
          res,
          () => current.commit(),
          (err) => fail(err, res, next),
        );
        next();
      },
      (err: unknown) => fail(err, res, next),
    );
  };
}

type Call = [fn: (...args: unknown[]) => unknown, args: unknown[]];

/** Queue writeHead/write/end until `commit` settles, then send its Set-Cookie lines with the head. */
function holdHead(
  res: ServerResponse,
  commit: () => Promise<string[]>,
  onError: (err: unknown) => void,
): void {
  const original = { writeHead: res.writeHead, write: res.write, end: res.end };
  const queue: Call[] = [];
  let head: unknown[] | undefined;
  let started = false;
  const restore = () => Object.assign(res, original);
  const start = () => {
    if (started) return;
    started = true;
    commit().then(
      (cookies) => {
        restore();
        if (cookies.length > 0) addCookies(res, head, cookies);
        if (head) (original.writeHead as (...a: unknown[]) => unknown).apply(res, head);
        for (const [fn, args] of queue) fn.apply(res, args);
      },
      (err: unknown) => {
        restore();
        onError(err);
      },
    );
  };
  res.writeHead = function heldWriteHead(this: ServerResponse, ...args: unknown[]) {
    head = args;
    start();
    return this;
  } as ServerResponse['writeHead'];
  res.write = function heldWrite(...args: unknown[]) {
    queue.push([original.write as Call[0], args]);
    start();
    return true;
  } as ServerResponse['write'];
  res.end = function heldEnd(this: ServerResponse, ...args: unknown[]) {
    queue.push([original.end as Call[0], args]);
    start();
    return this;
  } as ServerResponse['end'];
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
