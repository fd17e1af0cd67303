import { describe, expect, it } from 'vitest';
import { findFindings, hintFor, pathShape, previousOf } from './findings.js';
import type { RequestRecord, RestartRecord } from './herd.js';

let seq = 0;
function rec(
  method: string,
  path: string,
  status: number | undefined,
  instance: string,
  client: RequestRecord['client'] = { address: '127.0.0.1' },
  body = 'x',
): RequestRecord {
  seq++;
  return { seq, method, path, status, client, instance, body, restartsBefore: 0 };
}
const run = (...records: RequestRecord[]) => {
  records.forEach((r, i) => {
    r.seq = i + 1;
  });
  return records;
};

describe('findFindings', () => {
  it('names the first request whose status differs, its instance and the previous one', () => {
    const alone = run(rec('POST', '/login', 200, 'web.1@1'), rec('GET', '/me', 200, 'web.1@1'));
    const herd = run(rec('POST', '/login', 200, 'web.1@1'), rec('GET', '/me', 401, 'web.2@2'));
    const [f] = findFindings(alone, herd, []);
    expect(f).toMatchObject({
      kind: 'other-instance',
      request: { seq: 2, method: 'GET', path: '/me', status: 401, instance: 'web.2@2' },
      aloneStatus: 200,
      previous: { seq: 1, instance: 'web.1@1' },
    });
    expect(f?.hint).toMatch(/session or login/);
  });

  it('lines up runs whose ids differ', () => {
    const alone = run(rec('POST', '/files', 201, 'w'), rec('GET', '/files/1f2e3d4c5b6a', 200, 'w'));
    const herd = run(rec('POST', '/files', 201, 'a'), rec('GET', '/files/99aa88bb77cc', 404, 'b'));
    expect(findFindings(alone, herd, [])[0]?.request?.seq).toBe(2);
  });

  it('falls back to the body when every status is the same', () => {
    const alone = run(rec('GET', '/p', 200, 'w', {}, 'one'), rec('GET', '/p', 200, 'w', {}, 'two'));
    const herd = run(rec('GET', '/p', 200, 'a', {}, 'one'), rec('GET', '/p', 200, 'b', {}, 'old'));
    const [f] = findFindings(alone, herd, []);
    expect(f?.bodyDiffers).toBe(true);
    expect(f?.request?.seq).toBe(2);
    expect(f?.hint).toMatch(/stale/);
  });

  it('calls it after-restart when the previous instance was restarted in between', () => {
    const alone = run(rec('POST', '/login', 200, 'w'), rec('GET', '/me', 200, 'w'));
    const herd = run(
      rec('POST', '/login', 200, 'web.1@5001'),
      rec('GET', '/me', 401, 'web.2@5002'),
    );
    const restarts: RestartRecord[] = [{ afterRequest: 1, instance: 'web.1', how: 'kill' }];
    const [f] = findFindings(alone, herd, restarts);
    expect(f?.kind).toBe('after-restart');
    expect(f?.restartBefore).toEqual(restarts[0]);
  });

  it('is unattributed when every answer was the same as alone', () => {
    const alone = run(rec('GET', '/', 200, 'w'));
    const herd = run(rec('GET', '/', 200, 'a'));
    expect(findFindings(alone, herd, [])).toEqual([
      { kind: 'unattributed', hint: expect.stringMatching(/test output/) },
    ]);
  });

  it('finds a status never seen alone once the runs part', () => {
    const alone = run(rec('GET', '/a', 200, 'w'), rec('GET', '/b', 200, 'w'));
    const herd = run(
      rec('GET', '/a', 200, 'x'),
      rec('POST', '/retry', 200, 'y'),
      rec('GET', '/b', 500, 'y'),
    );
    expect(findFindings(alone, herd, [])[0]?.request?.path).toBe('/b');
  });
});

describe('previousOf', () => {
  it('prefers the same session, else the same connection or address', () => {
    const records = run(
      rec('GET', '/1', 200, 'a', { session: 's1', address: 'x' }),
      rec('GET', '/2', 200, 'b', { session: 's2', address: 'x' }),
      rec('GET', '/3', 200, 'a', { session: 's1', address: 'x' }),
    );
    expect(previousOf(records, records[2]!)?.seq).toBe(1);
    const anon = run(
      rec('GET', '/1', 200, 'a', { connection: 'c1' }),
      rec('GET', '/2', 200, 'b', { connection: 'c1' }),
    );
    expect(previousOf(anon, anon[1]!)?.seq).toBe(1);
    expect(previousOf(anon, anon[0]!)).toBeUndefined();
  });
});

describe('pathShape and hintFor', () => {
  it('replaces ids, drops the query', () => {
    expect(pathShape('/users/42/files/0f9e8d7c-aaaa?x=1')).toBe('/users/:id/files/:id');
    expect(pathShape('/prices/item-0')).toBe('/prices/item-0');
  });

  it('reads a rate limiter from a 429 that went missing', () => {
    expect(hintFor(429, 200, false)).toMatch(/rate limiter/);
    expect(hintFor(200, 404, false)).toMatch(/not found/);
    expect(hintFor(200, 502, false)).toMatch(/server error/);
  });
});
