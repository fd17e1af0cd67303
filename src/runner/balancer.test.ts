import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../errors.js';
import { createBalancer } from './balancer.js';
import {
  backResponseHeaders,
  CLIENT_ADDRESS_HEADERS,
  forwardRequestHeaders,
  requestHost,
} from './balancer-headers.js';

const ctx = { remoteAddress: '10.0.0.7', proto: 'http', trustProxy: false, upgrade: false };

/** Flat header list → lower-cased name → values. */
function byName(flat: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const name = (flat[i] as string).toLowerCase();
    out.set(name, [...(out.get(name) ?? []), flat[i + 1] as string]);
  }
  return out;
}

describe('forwardRequestHeaders', () => {
  it('sets X-Forwarded-* from the connection and drops what the client claimed', () => {
    const h = byName(
      forwardRequestHeaders(
        [
          'Host',
          'app.test',
          'X-Forwarded-For',
          '6.6.6.6',
          'X-Forwarded-Host',
          'evil.test',
          'X-Forwarded-Proto',
          'https',
          'Forwarded',
          'for=6.6.6.6',
          'Cookie',
          'sid=1',
        ],
        ctx,
      ),
    );
    expect(h.get('x-forwarded-for')).toEqual(['10.0.0.7']);
    expect(h.get('x-forwarded-host')).toEqual(['app.test']);
    expect(h.get('x-forwarded-proto')).toEqual(['http']);
    expect(h.has('forwarded')).toBe(false);
    expect(h.get('host')).toEqual(['app.test']);
    expect(h.get('cookie')).toEqual(['sid=1']);
  });

  it('extends the client chain when trusting a proxy in front', () => {
    const h = byName(
      forwardRequestHeaders(
        ['Host', 'lb.internal', 'X-Forwarded-For', '1.2.3.4', 'X-Forwarded-Host', 'app.test'],
        { ...ctx, trustProxy: true },
      ),
    );
    expect(h.get('x-forwarded-for')).toEqual(['1.2.3.4, 10.0.0.7']);
    expect(h.get('x-forwarded-host')).toEqual(['app.test']);
  });

  it('drops hop-by-hop headers, including those named in Connection', () => {
    const h = byName(
      forwardRequestHeaders(
        [
          'Connection',
          'keep-alive, X-Secret',
          'Keep-Alive',
          'timeout=5',
          'X-Secret',
          's',
          'TE',
          'x',
        ],
        ctx,
      ),
    );
    for (const gone of ['connection', 'keep-alive', 'x-secret', 'te'])
      expect(h.has(gone)).toBe(false);
  });

  it('drops Expect (answered by the balancer itself) and a second Host', () => {
    const h = byName(
      forwardRequestHeaders(['Host', 'a.test', 'Expect', '100-continue', 'host', 'b.test'], ctx),
    );
    expect(h.has('expect')).toBe(false);
    expect(h.get('host')).toEqual(['a.test']);
  });

  it('keeps a plausible client request id and replaces a junk one', () => {
    const good = 'req-0123456789abcdef-xyz';
    expect(byName(forwardRequestHeaders(['X-Request-Id', good], ctx)).get('x-request-id')).toEqual([
      good,
    ]);
    const replaced = byName(forwardRequestHeaders(['X-Request-Id', 'a b'], ctx)).get(
      'x-request-id',
    );
    expect(replaced?.[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps the WebSocket handshake headers only for upgrades', () => {
    const raw = ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'];
    expect(byName(forwardRequestHeaders(raw, ctx)).has('upgrade')).toBe(false);
    const up = byName(forwardRequestHeaders(raw, { ...ctx, upgrade: true }));
    expect(up.get('upgrade')).toEqual(['websocket']);
    expect(up.get('connection')).toEqual(['upgrade']);
    expect(up.get('sec-websocket-key')).toEqual(['k']);
  });
});

describe('backResponseHeaders', () => {
  it('keeps repeated headers, drops framing, reports Content-Length', () => {
    const raw = ['Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'Connection', 'keep-alive'].map((s) =>
      Buffer.from(s, 'latin1'),
    );
    raw.push(Buffer.from('Content-Length'), Buffer.from('12'));
    raw.push(Buffer.from('Transfer-Encoding'), Buffer.from('chunked'));
    const back = backResponseHeaders(raw);
    expect(back.headers).toEqual([
      'Set-Cookie',
      'a=1',
      'set-cookie',
      'b=2',
      'Content-Length',
      '12',
    ]);
    expect(back.contentLength).toBe(12);
    expect(backResponseHeaders(['x-a', '1']).contentLength).toBe(-1);
  });

  it('drops headers the instance named in Connection', () => {
    const back = backResponseHeaders([
      'Connection',
      'close, X-Internal',
      'X-Internal',
      '1',
      'A',
      'b',
    ]);
    expect(back.headers).toEqual(['A', 'b']);
  });
});

describe('createBalancer options', () => {
  it('refuses an unknown strategy and non-positive timeouts', () => {
    expect(() => createBalancer({ port: 0, strategy: 'random' as 'round-robin' })).toThrow(
      InvalidOptionError,
    );
    expect(() => createBalancer({ port: 0, idleTimeoutMs: 0 })).toThrow(InvalidOptionError);
  });
});

describe('requestHost and client address headers', () => {
  it.each([
    ['example.test'],
    ['example.test:8080'],
    ['127.0.0.1:5000'],
    ['[::1]:5000'],
    ['[2001:db8::1]'],
    ['xn--bcher-kva.example'],
    ['a%20b.test'],
  ])('accepts %s', (host) => {
    expect(requestHost(['Host', host], '1.1')).toEqual({ host });
  });

  it.each([
    ['a b c'],
    [''],
    ['x@evil.example'],
    ['evil/../x'],
    ['example.test:'],
    ['example.test:99999'],
    ['example.test:80:80'],
    ['[::1'],
    ['[fe80::1%25eth0]'],
    ['[v1.x]'],
    ['a%zz.test'],
  ])('refuses %j', (host) => {
    expect(requestHost(['Host', host], '1.1')).toHaveProperty('refused');
  });

  it('refuses two Host headers, even equal ones, and HTTP/1.1 without one', () => {
    expect(requestHost(['Host', 'a.test', 'host', 'a.test'], '1.1')).toEqual({
      refused: 'more than one Host header',
    });
    expect(requestHost(['Accept', '*/*'], '1.1')).toEqual({ refused: 'no Host header' });
    expect(requestHost(['Accept', '*/*'], '1.0')).toEqual({ host: '' });
  });

  it('drops client-set address headers unless trustProxy; X-Forwarded-Host only when valid', () => {
    const raw = [
      'Host',
      'a.test',
      'X-Real-IP',
      '10.0.0.1',
      'X-Client-IP',
      '10.0.0.2',
      'True-Client-IP',
      '10.0.0.3',
      'CF-Connecting-IP',
      '10.0.0.4',
      'X-Forwarded-Host',
      'x@evil.example',
    ];
    const plain = byName(forwardRequestHeaders(raw, ctx));
    for (const name of CLIENT_ADDRESS_HEADERS) expect(plain.has(name)).toBe(false);
    expect(plain.get('x-forwarded-host')).toEqual(['a.test']);
    const trusted = byName(forwardRequestHeaders(raw, { ...ctx, trustProxy: true }));
    expect(trusted.get('x-real-ip')).toEqual(['10.0.0.1']);
    expect(trusted.get('cf-connecting-ip')).toEqual(['10.0.0.4']);
    expect(trusted.get('x-forwarded-host')).toEqual(['a.test']);
  });
});
