/**
 * The Lua scripts of the Redis store. Each touches exactly ONE key, so every script runs in one
 * slot of a Redis Cluster, and each runs atomically on the server: that is what makes
 * create-if-absent and update-if-version race-free.
 *
 * An entry and its tombstone are the same key, a hash:
 * - live entry: `v` (value bytes), `ver` (version token), `exp` (when it expires, in the writer's
 *   clock ms, for readers), optionally `own` (owner);
 * - tombstone: `gone` = 1 and nothing else, with the tombstone TTL.
 * Expiry is the key's own PX expiry, so Redis never returns an expired entry. A read is a plain
 * HMGET of `v ver own exp`, no script: EVALSHA costs Redis ~4 µs a call against ~0.4 µs for HMGET
 * (INFO commandstats under bench/session), and on a 2-core machine Redis shares a core with the
 * rest. Writes stay scripts, since only a script makes them conditional in one round trip.
 * ioredis `defineCommand` sends them with EVALSHA and falls back to EVAL on NOSCRIPT.
 *
 * Every write is fenced: its last argument is a deadline in the server's clock (ms since the
 * epoch, see deadline.ts) and it answers `late` without writing once the server's `TIME` has
 * reached it. A command that sat in a socket buffer while the server was hung therefore cannot
 * land after its caller was told it failed. (Calling TIME before writing is allowed: Redis 7
 * replicates a script's effects, not the script.)
 */

/** Lua: answer `late` (as `reply`) when the server clock has reached the fence in ARGV[n]. */
const fence = (n: number, reply: string) => `
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) >= tonumber(ARGV[${n}]) then
  return ${reply}
end`;

/** The fields a read fetches, in this order. */
export const READ_FIELDS = ['v', 'ver', 'own', 'exp'] as const;

/**
 * KEYS[1] entry; ARGV value, version, ttlMs, owner ('' = none), expiresAt, fence → 'ok' |
 * 'exists' | 'gone' | 'late'.
 */
export const CREATE_SCRIPT = `${fence(6, "'late'")}
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HEXISTS', KEYS[1], 'gone') == 1 then return 'gone' end
  return 'exists'
end
if ARGV[4] == '' then
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', ARGV[2], 'exp', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', ARGV[2], 'exp', ARGV[5], 'own', ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 'ok'
`;

/**
 * KEYS[1] entry; ARGV value, expected version, new version, ttlMs, owner ('' = keep), expiresAt,
 * fence → {'ok', previous owner|nil} | {'conflict'} | {'missing'} | {'gone'} | {'late'}.
 */
export const UPDATE_SCRIPT = `${fence(7, "{'late'}")}
local r = redis.call('HMGET', KEYS[1], 'ver', 'gone', 'own')
if r[2] then return {'gone'} end
if not r[1] then return {'missing'} end
if r[1] ~= ARGV[2] then return {'conflict'} end
if ARGV[5] == '' then
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', ARGV[3], 'exp', ARGV[6])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'ver', ARGV[3], 'exp', ARGV[6], 'own', ARGV[5])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {'ok', r[3]}
`;

/**
 * KEYS[1] entry; ARGV ttlMs, expiresAt, fence → nil when there is no live entry (absent, expired,
 * tombstone), 'late', else {1, owner|nil}. Expire-only: the value is neither sent nor read back.
 */
export const TOUCH_SCRIPT = `${fence(3, "'late'")}
local r = redis.call('HMGET', KEYS[1], 'ver', 'own')
if not r[1] then return false end
redis.call('HSET', KEYS[1], 'exp', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {1, r[2]}
`;

/**
 * KEYS[1] entry; ARGV tombstone ttlMs, only-if-owner ('' = any), fence → {1, owner|nil} when a
 * live entry was replaced by a tombstone, {'late'} past the fence, {0} otherwise. Without an owner filter, even an absent key
 * gets a tombstone (a writer may still hold a version of an entry that just expired). With a
 * filter (deleteOwned), only a live entry of that owner is touched.
 */
export const DELETE_SCRIPT = `${fence(3, "{'late'}")}
local r = redis.call('HMGET', KEYS[1], 'ver', 'own')
if ARGV[2] ~= '' and (not r[1] or r[2] ~= ARGV[2]) then return {0} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'gone', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if r[1] then return {1, r[2]} end
return {0}
`;

/**
 * KEYS[1] owner set; ARGV member, ttlMs → 1. Adds the member and stretches the set's expiry so it
 * outlives its longest-lived entry (and no longer: an abandoned owner's set expires by itself).
 */
export const INDEX_SCRIPT = `
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`;

/** The scripts by the command name they get on the ioredis client. */
export const SCRIPTS = {
  droveCreate: CREATE_SCRIPT,
  droveUpdate: UPDATE_SCRIPT,
  droveTouch: TOUCH_SCRIPT,
  droveDelete: DELETE_SCRIPT,
  droveIndex: INDEX_SCRIPT,
} as const;
