import { describe, expect, it } from 'vitest';
import { mayResendFresh, mayRetryElsewhere, neverReached } from './retry.js';

describe('retry policy', () => {
  it('any request goes to another instance when the first was never reached', () => {
    expect(neverReached('ECONNREFUSED')).toBe(true);
    expect(neverReached('CONNECT_TIMEOUT')).toBe(true);
    expect(neverReached('ECONNRESET')).toBe(false);
    expect(mayRetryElsewhere({ method: 'POST', hasBody: true, code: 'ECONNREFUSED' })).toBe(true);
  });

  it('a reset goes elsewhere only for a body-less idempotent request', () => {
    expect(mayRetryElsewhere({ method: 'GET', hasBody: false, code: 'ECONNRESET' })).toBe(true);
    expect(mayRetryElsewhere({ method: 'DELETE', hasBody: false, code: 'EPIPE' })).toBe(true);
    expect(mayRetryElsewhere({ method: 'POST', hasBody: false, code: 'ECONNRESET' })).toBe(false);
    expect(mayRetryElsewhere({ method: 'PUT', hasBody: true, code: 'ECONNRESET' })).toBe(false);
    expect(mayRetryElsewhere({ method: 'GET', hasBody: false, code: 'HEADERS_TIMEOUT' })).toBe(
      false,
    );
  });

  it('a stale kept-alive connection is retried fresh only for a body-less idempotent request', () => {
    expect(mayResendFresh({ method: 'GET', hasBody: false }, true)).toBe(true);
    expect(mayResendFresh({ method: 'GET', hasBody: false }, false)).toBe(false);
    expect(mayResendFresh({ method: 'PATCH', hasBody: false }, true)).toBe(false);
    expect(mayResendFresh({ method: 'PUT', hasBody: true }, true)).toBe(false);
  });
});
