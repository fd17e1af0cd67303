/** HTTP method sets shared by the balancer and its upstream client. */

/**
 * Methods whose request may be sent again when the first attempt failed before any answer
 * (RFC 9110 §9.2.2): a retried stale kept-alive connection, a reset before the response.
 */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PUT',
  'DELETE',
]);
