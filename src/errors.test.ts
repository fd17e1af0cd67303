import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from './errors.js';
import { catalogue, DroveError } from './errors.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

/** Sections of docs/errors.md: `### CODE` followed by a `Status:` line. */
function documented(): Map<string, string> {
  const sections = new Map<string, string>();
  for (const match of doc.matchAll(/^### (DROVE_ERR_[A-Z0-9_]+)\n+Status: ([^.\n]+)\./gm)) {
    sections.set(match[1]!, match[2]!);
  }
  return sections;
}

describe('error catalogue', () => {
  it('has no duplicate codes', () => {
    const codes = catalogue.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('documents every code in docs/errors.md with the same status, and nothing else', () => {
    const sections = documented();
    for (const { code, statusCode } of catalogue) {
      expect(sections.get(code), `docs/errors.md lacks a section for ${code}`).toBe(
        statusCode === undefined ? 'none' : String(statusCode),
      );
    }
    const known = new Set(catalogue.map((e) => e.code));
    const headings = [...doc.matchAll(/^### (\S+)/gm)].map((m) => m[1]);
    expect(headings.filter((h) => !known.has(h!))).toEqual([]);
  });

  it('exports one class per code whose instances carry code, status, details and cause', () => {
    const classes = Object.values(errors as Record<string, unknown>).filter(
      (v): v is errors.DroveErrorClass<never> =>
        typeof v === 'function' && typeof (v as { code?: unknown }).code === 'string',
    );
    expect(classes.map((c) => c.code).sort()).toEqual(catalogue.map((e) => e.code).sort());
    const cause = new Error('root');
    const err = new errors.StoreUnavailableError(
      { store: 'redis', reason: 'timed out' },
      { cause },
    );
    expect(err).toBeInstanceOf(DroveError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('DROVE_ERR_STORE_UNAVAILABLE');
    expect(err.statusCode).toBe(503);
    expect(err.cause).toBe(cause);
    expect(err.details).toEqual({ store: 'redis', reason: 'timed out' });
    expect(err.message).toBe('[drove] [redis] store unavailable: timed out');
    expect(errors.StoreUnavailableError.name).toBe('StoreUnavailableError');
    // What framework adapters answer with: 503 + Retry-After for an outage (not applied), 504
    // without Retry-After when a write's outcome is unknown.
    expect(err.retryAfter).toBe(1);
    expect(
      new errors.StoreUnavailableError({ store: 'pg', reason: 'x', retryAfter: 3 }).retryAfter,
    ).toBe(3);
    const unknown = new errors.StoreOutcomeUnknownError({
      store: 'redis',
      operation: 'update',
      reason: 'lost',
    });
    expect([unknown.statusCode, unknown.retryAfter, unknown.code]).toEqual([
      504,
      undefined,
      'DROVE_ERR_STORE_OUTCOME_UNKNOWN',
    ]);
    expect(new errors.InvalidKeyError({ key: 'k', reason: 'r' }).retryAfter).toBeUndefined();
  });

  it("carries what frameworks' error handlers read: status, headers (Retry-After on 503), expose", () => {
    const outage = new errors.StoreUnavailableError({ store: 'redis', reason: 'timed out' });
    expect(outage.status).toBe(503);
    expect(outage.headers).toEqual({ 'retry-after': '1' });
    expect(outage.expose).toBe(false);
    const conflict = new errors.SessionConflictError({ attempts: 3, elapsedMs: 3000 });
    expect(conflict.headers).toEqual({ 'retry-after': '5' });
    const csrf = new errors.CsrfError({ method: 'POST', origin: 'https://evil.example' });
    expect([csrf.status, csrf.headers, csrf.expose]).toEqual([403, {}, true]);
    const option = new errors.InvalidOptionError({ option: 'x', reason: 'y' });
    expect([option.status, option.headers, option.expose]).toEqual([undefined, {}, false]);
  });

  it('quotes user input so blanks and control characters are visible', () => {
    const err = new errors.StoreSchemeError({ url: 'foo://x\n', scheme: 'foo', known: ['redis'] });
    expect(err.message).toContain('"foo://x\\n"');
  });
});
