/**
 * `drovejs/session`: sessions a stateless app can trust, on any drove store. Parallel requests that
 * change different keys both keep their change; `update()` makes read-modify-write atomic; a
 * destroyed session stays destroyed; a read-only request costs one store round trip.
 *
 * This is the framework-free core; use an adapter in apps: `drovejs/session/node`,
 * `drovejs/session/express`, `drovejs/session/fastify`, `drovejs/session/hono`. See docs/sessions.md.
 * @module
 */
export type { EncryptionOptions, Serializer } from './codec.js';
export { jsonSerializer } from './codec.js';
export type { ConflictRetryOptions } from './conflict-retry.js';
export type { CookieOptions } from './cookies.js';
export type { CsrfOptions } from './csrf.js';
export type {
  ClosableLegacyStore,
  LegacyPostgresOptions,
  LegacyRedisOptions,
} from './legacy-stores.js';
export { legacyPostgresStore, legacyRedisStore } from './legacy-stores.js';
export type { LegacyStore, MigrateFromOptions } from './migrate.js';
export { otelSessionEvents } from './otel.js';
export type { RequestSession } from './request-session.js';
export type { LoadOptions, SessionRequest } from './sessions.js';
export { createSessions, Sessions } from './sessions.js';
export type * from './types.js';
