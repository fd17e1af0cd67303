/**
 * HTTP method facts shared across features.
 * @module
 */

/**
 * Methods whose repeat has the same effect as one request (RFC 9110 §9.2.2), so a request that
 * failed before any answer (a stale kept-alive connection, a reset before the response) may be
 * sent again.
 */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);
