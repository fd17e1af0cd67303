import { describe, expect, it } from 'vitest';
import { CookieJar, contains, interpolate, parseScenario } from './scenario.js';

describe('parseScenario', () => {
  it('fills defaults: GET, one repeat', () => {
    const s = parseScenario('{"requests":[{"path":"/"}]}', 's.json');
    expect(s).toEqual({ repeat: 1, requests: [{ method: 'GET', path: '/' }] });
  });

  it('refuses unknown fields, bad captures and an empty list, naming the file and field', () => {
    expect(() => parseScenario('{"requests":[]}', 's.json')).toThrow(/s\.json: requests/);
    expect(() => parseScenario('{"requests":[{"path":"/","expekt":{}}]}', 's.json')).toThrow(
      /requests\.0/,
    );
    expect(() =>
      parseScenario('{"requests":[{"path":"/","capture":{"id":"cookie.x"}}]}', 's.json'),
    ).toThrow(/requests\.0\.capture\.id/);
    expect(() => parseScenario('not json', 's.json')).toThrow(/s\.json is not JSON/);
  });
});

describe('contains', () => {
  it('matches objects by the expected keys, recursively; arrays and primitives exactly', () => {
    expect(contains({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 2 } })).toBe(true);
    expect(contains({ a: 1 }, { a: 2 })).toBe(false);
    expect(contains({ a: [1, 2] }, { a: [1] })).toBe(false);
    expect(contains([{ x: 1, y: 2 }], [{ x: 1 }])).toBe(true);
    expect(contains(null, {})).toBe(false);
    expect(contains('1', 1)).toBe(false);
  });
});

describe('interpolate', () => {
  it('replaces captured names and refuses one never captured', () => {
    const vars = new Map([['id', '42']]);
    expect(interpolate('/items/{{id}}?again={{ id }}', vars)).toBe('/items/42?again=42');
    expect(() => interpolate('/{{nope}}', vars)).toThrow(/never captured/);
  });
});

describe('CookieJar', () => {
  it('keeps cookies, replaces them, and drops expired ones', () => {
    const jar = new CookieJar();
    expect(jar.header()).toBeUndefined();
    jar.take(['sid=1; Path=/; HttpOnly', 'theme=dark']);
    expect(jar.header()).toBe('sid=1; theme=dark');
    jar.take(['sid=2']);
    expect(jar.header()).toBe('sid=2; theme=dark');
    jar.take(['theme=; Max-Age=0', 'sid=3; Expires=Thu, 01 Jan 1970 00:00:00 GMT']);
    expect(jar.header()).toBeUndefined();
  });
});

describe('the scenario in docs/check.md', () => {
  it('fits the schema', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(new URL('../../docs/check.md', import.meta.url), 'utf8');
    const block = /```json[^\n]*\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    const s = parseScenario(block ?? '', 'docs/check.md');
    expect(s.repeat).toBe(2);
    expect(s.requests.map((r) => r.name)).toEqual(['log in', 'upload', 'download']);
  });
});

describe('a YAML scenario', () => {
  it('reads a .yaml file as YAML, with the same schema', () => {
    const text = [
      'requests:',
      '  - name: log in',
      '    method: POST',
      '    path: /login',
      '    json: { user: ann }',
      '    expect: { status: [200, 201] }',
      '  - path: /me',
      '    capture: { user: json.user }',
    ].join('\n');
    expect(parseScenario(text, 'check.yaml').requests).toEqual([
      {
        name: 'log in',
        method: 'POST',
        path: '/login',
        json: { user: 'ann' },
        expect: { status: [200, 201] },
      },
      { method: 'GET', path: '/me', capture: { user: 'json.user' } },
    ]);
    expect(() => parseScenario('requests: [\n', 'check.yml')).toThrow(/check\.yml is not YAML/);
    expect(() => parseScenario('requests: 3\n', 'check.yml')).toThrow(/requests/);
  });
});
