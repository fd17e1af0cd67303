/**
 * How session data becomes the bytes a store keeps: a serializer (JSON with Dates by default,
 * pluggable) and optional AES-256-GCM encryption with a key list for rotation.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { InvalidOptionError, SessionDecryptError, SessionInvalidDataError } from '../errors.js';

/** Turns values into text and back. Must round-trip every value the app stores in a session. */
export interface Serializer {
  stringify(value: unknown): string;
  parse(text: string): unknown;
}

const DATE_TAG = '$drove:date';

/**
 * JSON in which Dates survive a round trip (`{"$drove:date":"2024-…"}`), unlike plain JSON
 * (expressjs/express #1506, expressjs/session #286). Values without Dates (most sessions) skip the
 * replacer and reviver: a JS callback per key made them several times slower than plain JSON.
 */
export const jsonSerializer: Serializer = {
  stringify(value) {
    if (!mayHoldDates(value, 0)) return JSON.stringify(value);
    return JSON.stringify(value, function replaceDates(this: Record<string, unknown>, key, v) {
      const raw = this[key];
      return raw instanceof Date ? { [DATE_TAG]: raw.toISOString() } : v;
    });
  },
  parse(text) {
    // Only text we wrote with a Date in it carries the tag (JSON.stringify never escapes `$`).
    if (!text.includes(DATE_TAG)) return JSON.parse(text);
    return JSON.parse(text, (_key, v) => {
      if (v !== null && typeof v === 'object' && typeof v[DATE_TAG] === 'string') {
        const keys = Object.keys(v);
        if (keys.length === 1) return new Date(v[DATE_TAG]);
      }
      return v;
    });
  },
};

/**
 * Whether `value` may serialize differently with the Date replacer: it holds a Date, or anything
 * with its own `toJSON` (whose output could), or nests deeper than a walk should go (cycles
 * included: the replacer path then throws JSON's own error).
 */
function mayHoldDates(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > 64 || typeof (value as { toJSON?: unknown }).toJSON === 'function') return true;
  if (Array.isArray(value)) {
    for (const item of value) if (mayHoldDates(item, depth + 1)) return true;
    return false;
  }
  for (const key in value) {
    if (
      Object.hasOwn(value, key) &&
      mayHoldDates((value as Record<string, unknown>)[key], depth + 1)
    )
      return true;
  }
  return false;
}

/** What a stored session holds besides the data. */
export interface StoredRecord {
  /** When the session was created (clock ms), for the absolute timeout. */
  createdAt: number;
  /** The app's data. */
  data: Record<string, unknown>;
  /**
   * The expiry (clock ms) of the last Set-Cookie sent for the session, if known: a write re-sends
   * the cookie only once the session's expiry has moved past it by the touch share.
   */
  cookieExpiresAt?: number | undefined;
  /**
   * This session's own cookie lifetime (express-session's `req.session.cookie.maxAge`, the
   * "remember me" pattern), in ms: its idle window, still capped by the absolute one. `null`: a
   * browser-session cookie for this session. Absent: the configured defaults.
   */
  lifetimeMs?: number | null | undefined;
}

/** Encryption of the stored payload. */
export interface EncryptionOptions {
  /**
   * 32-byte keys (Buffers, or strings in base64/base64url), newest FIRST. Payloads are written with
   * the first key and read with whichever key wrote them, so a new key can be added in front and
   * an old one dropped once its sessions expired.
   */
  keys: Array<string | Uint8Array>;
}

interface Key {
  id: Buffer;
  secret: Buffer;
}

const FORMAT = 1;
const KEY_ID = 4;
const IV = 12;
const TAG = 16;

/** Encodes records to store bytes and back, checking the size limit and (optionally) encrypting. */
export class Codec {
  readonly #serializer: Serializer;
  readonly #keys: Key[] | undefined;

  constructor(serializer: Serializer, encryption: EncryptionOptions | undefined) {
    this.#serializer = serializer;
    this.#keys = encryption ? encryption.keys.map(toKey) : undefined;
    if (this.#keys?.length === 0) {
      throw new InvalidOptionError({ option: 'encryption.keys', reason: 'give at least one key' });
    }
  }

  /** One value's serialization, the unit of change detection. */
  stringifyValue(value: unknown): string | undefined {
    return value === undefined ? undefined : this.#serializer.stringify(value);
  }

  parseValue(text: string): unknown {
    return this.#serializer.parse(text);
  }

  /** The record as bytes. `key` (the store key) is bound to the ciphertext as associated data. */
  encode(record: StoredRecord, key: string): Buffer {
    const fields: { c: number; d: Record<string, unknown>; k?: number; m?: number | null } = {
      c: record.createdAt,
      d: record.data,
    };
    if (record.cookieExpiresAt !== undefined) fields.k = record.cookieExpiresAt;
    if (record.lifetimeMs !== undefined) fields.m = record.lifetimeMs;
    const text = Buffer.from(this.#serializer.stringify(fields));
    const newest = this.#keys?.[0];
    if (!newest) return text;
    const iv = randomBytes(IV);
    const cipher = createCipheriv('aes-256-gcm', newest.secret, iv);
    cipher.setAAD(Buffer.from(key));
    const body = Buffer.concat([cipher.update(text), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT), newest.id, iv, cipher.getAuthTag(), body]);
  }

  decode(bytes: Buffer, key: string): StoredRecord {
    const text = this.#keys ? this.#decrypt(bytes, key, this.#keys) : bytes;
    let parsed: unknown;
    try {
      parsed = this.#serializer.parse(text.toString('utf8'));
    } catch (err) {
      throw new SessionInvalidDataError({ reason: 'payload does not parse' }, { cause: err });
    }
    const record = parsed as { c?: unknown; d?: unknown; k?: unknown; m?: unknown } | null;
    if (
      record === null ||
      typeof record !== 'object' ||
      typeof record.c !== 'number' ||
      record.d === null ||
      typeof record.d !== 'object' ||
      Array.isArray(record.d)
    ) {
      throw new SessionInvalidDataError({ reason: 'payload is not a drove session record' });
    }
    return {
      createdAt: record.c,
      data: record.d as Record<string, unknown>,
      cookieExpiresAt: typeof record.k === 'number' ? record.k : undefined,
      lifetimeMs: record.m === null ? null : typeof record.m === 'number' ? record.m : undefined,
    };
  }

  #decrypt(bytes: Buffer, key: string, keys: Key[]): Buffer {
    const header = 1 + KEY_ID + IV + TAG;
    if (bytes.length < header || bytes[0] !== FORMAT) {
      throw new SessionDecryptError({ reason: 'not an encrypted drove payload' });
    }
    const keyId = bytes.subarray(1, 1 + KEY_ID);
    const match = keys.find((k) => k.id.equals(keyId));
    if (!match)
      throw new SessionDecryptError({ reason: 'written with a key no longer configured' });
    try {
      const iv = bytes.subarray(1 + KEY_ID, 1 + KEY_ID + IV);
      const decipher = createDecipheriv('aes-256-gcm', match.secret, iv);
      decipher.setAAD(Buffer.from(key));
      decipher.setAuthTag(bytes.subarray(1 + KEY_ID + IV, header));
      return Buffer.concat([decipher.update(bytes.subarray(header)), decipher.final()]);
    } catch (err) {
      throw new SessionDecryptError({ reason: 'authentication failed' }, { cause: err });
    }
  }
}

function toKey(raw: string | Uint8Array, index: number): Key {
  const secret =
    typeof raw === 'string'
      ? Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      : Buffer.from(raw);
  if (secret.length !== 32) {
    throw new InvalidOptionError({
      option: `encryption.keys[${index}]`,
      reason: `expected 32 bytes (e.g. \`openssl rand -base64 32\`), got ${secret.length}`,
    });
  }
  // A short fingerprint picks the key on read without trying each one.
  const id = createHash('sha256').update(secret).digest().subarray(0, KEY_ID);
  return { id, secret };
}
