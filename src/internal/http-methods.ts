/**
 * HTTP method facts shared across features.
 * @module
 */

/** Methods whose repeat has the same effect as one request (RFC 9110 §9.2.2): safe to send again. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);
