/**
 * Session ids and store keys. The id (256 bits from the CSPRNG, base64url) only ever lives in the
 * cookie; the store sees its SHA-256, so a dump of the store hands out no live session (the
 * lesson of Rack's CVE-2019-16782).
 */
import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes in base64url without padding: 43 characters. */
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new session id: 256 bits from the CSPRNG, base64url. */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Whether a cookie value can be a session id drove issued. Checked before any store round trip;
 * the round-trip test also refuses the non-canonical spellings of the last character.
 */
export function isWellFormedId(value: string | undefined): value is string {
  return (
    value !== undefined &&
    ID_PATTERN.test(value) &&
    Buffer.from(value, 'base64url').toString('base64url') === value
  );
}

/** The store key of a session id: its SHA-256, base64url (43 characters). */
export function storeKeyOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
