/**
 * Helpers shared by the store drivers: option defaults and argument checks (lazy loading of
 * optional peers is re-exported from src/internal/peer.ts; deadlines are in deadline.ts).
 */
import {
  InvalidKeyError,
  InvalidOptionError,
  StoreClosedError,
  ValueTooLargeError,
} from '../errors.js';
import type { StoreOptions } from './types.js';

/** StoreOptions with every default filled in. */
export type ResolvedStoreOptions = Required<StoreOptions>;

export const DEFAULT_TIMEOUT_MS = 1000;
export const DEFAULT_MAX_VALUE_SIZE = 1024 * 1024;
export const DEFAULT_PREFIX = 'drove:';
export const DEFAULT_TOMBSTONE_TTL_MS = 10 * 60 * 1000;

/** Keys are what the session layer hands us (hashes), so the rule can be strict and portable. */
const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

export function resolveStoreOptions(options: StoreOptions = {}): ResolvedStoreOptions {
  const resolved = {
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxValueSize: options.maxValueSize ?? DEFAULT_MAX_VALUE_SIZE,
    prefix: options.prefix ?? DEFAULT_PREFIX,
    tombstoneTtlMs: options.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS,
  };
  for (const name of ['timeoutMs', 'maxValueSize', 'tombstoneTtlMs'] as const) {
    const value = resolved[name];
    if (!Number.isInteger(value) || value <= 0) {
      throw new InvalidOptionError({
        option: name,
        reason: `expected a positive integer, got ${value}`,
      });
    }
  }
  if (!/^[\x21-\x7e]{0,50}$/.test(resolved.prefix)) {
    throw new InvalidOptionError({
      option: 'prefix',
      reason: 'expected at most 50 printable ASCII characters without blanks',
    });
  }
  return resolved;
}

export function checkKey(key: string): void {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new InvalidKeyError({
      key: String(key),
      reason: 'keys are 1 to 200 printable ASCII characters without blanks',
    });
  }
}

export function checkOwner(owner: string): void {
  if (typeof owner !== 'string' || !KEY_PATTERN.test(owner)) {
    throw new InvalidKeyError({
      key: String(owner),
      reason: 'owners are 1 to 200 printable ASCII characters without blanks',
    });
  }
}

export function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) {
    throw new InvalidOptionError({
      option: 'ttlMs',
      reason: `expected a positive integer, got ${ttlMs}`,
    });
  }
}

/** The value as bytes, refused (before anything is sent) when over the size limit. */
export function toValueBuffer(store: string, value: Buffer | string, limit: number): Buffer {
  const buffer = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  if (buffer.length > limit) {
    throw new ValueTooLargeError({ store, size: buffer.length, limit });
  }
  return buffer;
}

/** Throws DROVE_ERR_STORE_CLOSED once the store is closed. */
export function checkOpen(store: string, closed: boolean): void {
  if (closed) throw new StoreClosedError({ store });
}

/** Peer loading is shared with the session's OpenTelemetry bridge, so it lives in src/internal/. */
export { importPeer } from '../internal/peer.js';
