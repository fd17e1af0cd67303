/**
 * The balancer's retry policy, in one place: when a request that failed may be sent again, and
 * where. Nothing is sent twice that an instance may have acted on, unless the method is
 * idempotent and the request has no body to replay.
 *
 * - Another instance, for any request, when the first could not be connected to
 *   ({@link neverReached}): nothing of the request left the balancer. The instance is quarantined.
 * - Another instance, for a body-less idempotent request whose connection was reset
 *   ({@link mayRetryElsewhere}).
 * - The same instance on a fresh connection, for a body-less idempotent request sent on a reused
 *   kept-alive connection the instance closed before answering a byte
 *   ({@link mayResendFresh}): the instance closed an idle connection as it was reused, it is fine.
 * - A WebSocket handshake goes to another instance only when its connection failed.
 * @module
 */
import { IDEMPOTENT_METHODS } from '../internal/http-methods.js';

/** Errors that mean the instance was never reached, so nothing of the request was sent. */
const CONNECT_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'CONNECT_TIMEOUT',
  // Reset (or closed) before the connection was established: see upstream.ts connectFailure().
  'CONNECT_RESET',
]);

/** Errors of a connection that went away under the request. */
const RESET_ERRORS: ReadonlySet<string> = new Set(['ECONNRESET', 'UPSTREAM_CLOSED', 'EPIPE']);

/** The error code of a failed exchange means the instance was never reached. */
export function neverReached(code: string): boolean {
  return CONNECT_ERRORS.has(code);
}

/** What is known of a failed request. */
export interface FailedRequest {
  method: string;
  /** It has a body (which was streamed, so cannot be replayed). */
  hasBody: boolean;
  /** The error's code (`ECONNREFUSED`, `UPSTREAM_CLOSED`, …), or ''. */
  code: string;
}

/** May the request go to another instance? (Only while nothing of the response reached the client.) */
export function mayRetryElsewhere({ method, hasBody, code }: FailedRequest): boolean {
  return (
    neverReached(code) || (!hasBody && IDEMPOTENT_METHODS.has(method) && RESET_ERRORS.has(code))
  );
}

/**
 * May the request go again to the same instance on a new connection? `staleReuse`: it was sent on
 * a reused kept-alive connection that closed before any byte of an answer, and not by a timeout.
 */
export function mayResendFresh(request: { method: string; hasBody: boolean }, staleReuse: boolean) {
  return staleReuse && !request.hasBody && IDEMPOTENT_METHODS.has(request.method);
}
