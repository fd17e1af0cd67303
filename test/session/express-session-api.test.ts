/**
 * express-session's API on drove's Express adapter, beyond what the legacy app exercises: the
 * "remember me" lifetime and its cap, a browser-session cookie per session, the store expiry
 * following `cookie.maxAge`, the id of a new session, and callbacks that drove cannot honour
 * (never dropped: called with a typed error).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { session } from '../../src/session/express.js';
import { storeKeyOf } from '../../src/session/id.js';
import { session as nodeSession, type RequestWithSession } from '../../src/session/node.js';
import { createStore } from '../../src/stores/index.js';
import type { Store } from '../../src/stores/types.js';
import { Browser, type Reply } from './client.js';

const DAY = 86_400_000;
const maxAgeOf = (reply: Reply) => {
  const match = /max-age=(\d+)/i.exec(reply.setCookie[0] ?? '');
  return match ? Number(match[1]) * 1000 : undefined;
};

describe("express-session's API on drove's Express adapter", () => {
  let dir: string;
  let store: Store;
  let server: Server;
  let base: string;
  /** What the late callback was called with. */
  let lateCalled!: (code: unknown) => void;
  const late = new Promise((resolve) => {
    lateCalled = resolve;
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drove-compat-api-'));
    store = createStore(`sqlite:${join(dir, 's.db')}`);
    const app = express();
    app.use(session({ store, absoluteTimeoutMs: 60 * DAY, cookie: { maxAge: DAY } }));
    app.post('/remember', (req, res) => {
      req.session.user = 'u';
      req.session.cookie.maxAge = req.query.null ? null : Number(req.query.days) * DAY;
      res.json({ id: req.sessionID });
    });
    app.post('/new', (req, res) => {
      const before = req.sessionID;
      req.session.n = 1;
      res.json({ before, sameAsSession: before === req.session.id });
    });
    app.post('/set', (req, res) => {
      req.session.n = Number(req.query.n);
      res.json({ maxAge: req.session.cookie.maxAge, original: req.session.cookie.originalMaxAge });
    });
    app.post('/own', (req, res) => {
      req.session.setOwner(String(req.query.owner));
      req.session.n = 1;
      res.json({ ok: true });
    });
    app.post('/everywhere', (req, res) => {
      // The callback as the only argument, express style.
      req.session.destroyAll((err) => res.json({ err: err ?? null }));
    });
    app.get('/store/:sid', (req, res, next) => {
      req.sessionStore.get(String(req.params.sid), (err, found) =>
        err ? next(err) : res.json({ found: found ?? null }),
      );
    });
    app.delete('/store/:sid', (req, res, next) => {
      req.sessionStore.destroy(String(req.params.sid), (err) =>
        err ? next(err) : res.json({ destroyed: true }),
      );
    });
    app.put('/store/:sid', (req, res) => {
      req.sessionStore.set(String(req.params.sid), { n: 9 }, (err) =>
        res.json({ code: (err as { code?: string } | undefined)?.code ?? null }),
      );
    });
    app.post('/save-then-write', (req, res) => {
      req.session.first = 1;
      req.session.save();
      // Written while the save is in flight: kept for the commit, not overwritten by it.
      req.session.second = 2;
      res.json({ ok: true });
    });
    app.get('/read', (req, res) => {
      if (req.query.touch) req.session.touch();
      res.json({
        n: req.session.n ?? null,
        first: req.session.first ?? null,
        second: req.session.second ?? null,
      });
    });
    app.post('/old-object', (req, res, next) => {
      const old = req.session;
      req.session.regenerate((err) => {
        if (err) return next(err);
        let code: string | undefined;
        try {
          old.leak = 1;
        } catch (e) {
          code = (e as { code?: string }).code;
        }
        req.session.kept = old.user;
        res.json({ code, oldUser: old.user, replaced: old !== req.session });
      });
    });
    app.post('/late', (req, res) => {
      res.json({ ok: true });
      // After the response: the session is committed, so a save cannot be honoured.
      res.on('finish', () => {
        req.session.save((err) => lateCalled((err as { code?: string } | undefined)?.code));
      });
    });
    app.post('/bad-callback', (req, res) => {
      try {
        (req.session.save as (cb: unknown) => unknown)('not a function');
        res.json({ code: null });
      } catch (e) {
        res.json({ code: (e as { code?: string }).code });
      }
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cookie.maxAge = 30 days sends that lifetime, and the store expiry follows it', async () => {
    const user = new Browser(base);
    const reply = await user.post('/remember?days=30');
    expect(maxAgeOf(reply)).toBe(30 * DAY);
    const entry = await store.get(storeKeyOf(reply.json().id));
    expect(entry!.expiresAt - Date.now()).toBeGreaterThan(30 * DAY - 60_000);
    // Later writes keep the session's own lifetime (not the configured day).
    const later = (await user.post('/set?n=2')).json();
    expect(later.original).toBe(30 * DAY);
    expect(later.maxAge).toBeGreaterThan(30 * DAY - 60_000);
    const after = await store.get(storeKeyOf(reply.json().id));
    expect(after!.expiresAt - Date.now()).toBeGreaterThan(30 * DAY - 60_000);
  });

  it('the absolute limit caps the lifetime', async () => {
    const reply = await new Browser(base).post('/remember?days=90');
    expect(maxAgeOf(reply)).toBeLessThanOrEqual(60 * DAY);
    expect(maxAgeOf(reply)).toBeGreaterThan(60 * DAY - 60_000);
  });

  it('cookie.maxAge = null makes a browser-session cookie for this session only', async () => {
    const reply = await new Browser(base).post('/remember?null=1');
    expect(reply.setCookie).toHaveLength(1);
    expect(maxAgeOf(reply)).toBeUndefined();
    const other = await new Browser(base).post('/set?n=1');
    expect(maxAgeOf(other)).toBe(DAY);
  });

  it('touch() extends store and cookie on a read-only request the throttle would skip', async () => {
    const user = new Browser(base);
    await user.post('/set?n=1');
    const key = storeKeyOf(user.id!);
    const before = (await store.get(key))!.expiresAt;
    expect((await user.get('/read')).setCookie).toEqual([]);
    const touched = await user.get('/read?touch=1');
    expect(touched.setCookie).toHaveLength(1);
    expect(maxAgeOf(touched)).toBeGreaterThan(DAY - 60_000);
    expect((await store.get(key))!.expiresAt).toBeGreaterThanOrEqual(before);
    expect(touched.json().n).toBe(1);
  });

  it('a change made while a bare save() is in flight is stored too', async () => {
    const user = new Browser(base);
    await user.post('/set?n=1');
    expect((await user.post('/save-then-write')).status).toBe(200);
    expect((await user.get('/read')).json()).toEqual({ n: 1, first: 1, second: 2 });
  });

  it('destroyAll(cb) takes the callback as its only argument', async () => {
    const phone = new Browser(base);
    const laptop = new Browser(base);
    await phone.post('/own?owner=o1');
    await laptop.post('/own?owner=o1');
    expect((await phone.post('/everywhere')).json()).toEqual({ err: null });
    expect((await laptop.get('/read')).json().n).toBeNull();
  });

  it('req.sessionStore: get(sid, cb) and destroy(sid, cb) by id; set() answers a typed error', async () => {
    const user = new Browser(base);
    await user.post('/set?n=5');
    const admin = new Browser(base);
    const found = (await admin.get(`/store/${user.id}`)).json().found;
    expect(found.n).toBe(5);
    expect(found.cookie.originalMaxAge).toBe(DAY);
    expect((await admin.get(`/store/${'A'.repeat(43)}`)).json().found).toBeNull();
    expect((await admin.send('PUT', `/store/${user.id}`)).json().code).toBe(
      'DROVE_ERR_SESSION_UNSUPPORTED',
    );
    expect((await admin.get(`/store/${user.id}`)).json().found.n).toBe(5);
    expect((await admin.send('DELETE', `/store/${user.id}`)).json()).toEqual({ destroyed: true });
    expect((await user.get('/read')).json().n).toBeNull();
  });

  it('req.sessionID of a new session, read before the first write, is the id the cookie gets', async () => {
    const user = new Browser(base);
    const { before, sameAsSession } = (await user.post('/new')).json();
    expect(sameAsSession).toBe(true);
    expect(user.id).toBe(before);
  });

  it('after regenerate(cb) the old object reads the old data and refuses writes', async () => {
    const user = new Browser(base);
    await user.post('/remember?days=1');
    const reply = (await user.post('/old-object')).json();
    expect(reply).toEqual({ code: 'DROVE_ERR_SESSION_REPLACED', oldUser: 'u', replaced: true });
  });

  it('a callback drove cannot honour is called with a typed error, never dropped', async () => {
    const user = new Browser(base);
    await user.post('/set?n=1');
    await user.post('/late');
    expect(await late).toBe('DROVE_ERR_SESSION_COMMITTED');
    expect((await user.post('/bad-callback')).json().code).toBe('DROVE_ERR_INVALID_OPTION');
  });
});

describe("express-session's API on drove's node:http adapter", () => {
  it('regenerate(cb) + save(cb) give req a new session object and sessionID, as on Express', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drove-compat-node-'));
    const store = createStore(`sqlite:${join(dir, 's.db')}`);
    const withSession = nodeSession({ store, name: 'node.sid', secret: 'ignored' });
    const server = createServer((req, res) =>
      withSession(req, res, () => {
        const r = req as RequestWithSession<{ user?: string; theme?: string }>;
        if (req.url === '/prefs') {
          r.session.theme = 'dark';
          return res.end(JSON.stringify({ id: r.sessionID }));
        }
        const old = r.session;
        r.session.regenerate((err) => {
          if (err) return res.writeHead(500).end();
          r.session.user = 'u';
          r.session.save((err) => {
            res.end(
              JSON.stringify({
                err: err ?? null,
                replaced: old !== r.session,
                id: r.sessionID,
                oldTheme: old.theme,
              }),
            );
          });
        });
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const user = new Browser(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const before = (await user.post('/prefs')).json().id;
      expect(user.cookie).toMatch(/^node\.sid=/);
      const login = (await user.post('/login')).json();
      expect(login).toMatchObject({ err: null, replaced: true, oldTheme: 'dark' });
      expect(login.id).not.toBe(before);
      expect(user.id).toBe(login.id);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
