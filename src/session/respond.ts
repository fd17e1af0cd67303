/** How adapters answer session errors when `errors: 'respond'` (the default). */
import { DroveError } from '../errors.js';

/** A ready-made answer to a session error. */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The answer to `err`, or undefined when it must go to the framework's error handling (an error
 * that is not drove's, i.e. a bug, or `errors: 'pass'`).
 */
export function answerFor(
  err: unknown,
  errors: 'respond' | 'pass' | undefined,
  retryAfterSeconds = 5,
): ErrorAnswer | undefined {
  if (errors === 'pass' || !(err instanceof DroveError)) return undefined;
  const status = err.statusCode ?? 500;
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  // A store outage is temporary: tell clients when to come back instead of logging them out.
  if (status === 503) headers['retry-after'] = String(retryAfterSeconds);
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  return { status, headers, body };
}
