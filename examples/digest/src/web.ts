/**
 * The `web` process type: sign-up/sign-in on drove sessions, URL submissions queued for the
 * workers, uploads digested inside the request in a scratch transaction, and the live list.
 * Stateless: the session lives in SESSION_STORE_URL, everything else in DATABASE_URL.
 */
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { createAssets } from 'drovejs/assets';
import { expressAssets } from 'drovejs/assets/express';
import { gracefulShutdown, onShutdown, ready } from 'drovejs/process';
import { useScratch } from 'drovejs/scratch';
import { expressScratch } from 'drovejs/scratch/express';
import type {} from 'drovejs/session';
import { session } from 'drovejs/session/express';
import { createStore } from 'drovejs/stores';
import express, { type NextFunction, type Request, type Response } from 'express';
import { DUMMY_HASH, hashPassword, verifyPassword } from './auth.js';
import { readConfig } from './config.js';
import { openDatabase } from './db.js';
import { digestFile, isCsv } from './digest.js';
import { parseSubmittedUrl, UserError } from './guard.js';
import {
  type DigestRow,
  enqueueUrl,
  fail,
  finish,
  heartbeat,
  listForUser,
  recordRejected,
  startUpload,
} from './jobs.js';
import { explain } from './process-file.js';
import { homePage, signedOutPage } from './views.js';

declare module 'drovejs/session' {
  interface DefaultSessionData {
    userId?: number;
    email?: string;
  }
}

const config = readConfig();
const db = await openDatabase(config.databaseUrl);
const store = createStore(config.sessionStoreUrl);
await store.ready();
// Fails at start-up with DROVE_ERR_ASSETS_NOT_BUILT when the build stage did not run.
const assets = createAssets({ dir: new URL('./assets/', import.meta.url).pathname });

const app = express();
app.disable('x-powered-by');
app.set('trust proxy', 'loopback');
app.get('/healthz', (_req, res) => {
  res.json({ ok: true, process: config.processName });
});
app.use(expressAssets(assets));
app.use((_req, res, next) => {
  // Which process answered, for the curious (and the tests): requests are never sticky.
  res.setHeader('X-Served-By', config.processName);
  next();
});
app.use(session({ store, trustProxy: true }));

const page = (req: Request, extra: { error?: string; notice?: string } = {}) => ({
  assetUrl: assets.assetUrl,
  email: req.session.email,
  processName: config.processName,
  error: extra.error ?? (typeof req.query.error === 'string' ? req.query.error : undefined),
  notice: extra.notice,
});

app.get('/', (req, res) => {
  res.type('html').send(req.session.userId ? homePage(page(req)) : signedOutPage(page(req)));
});

const form = express.urlencoded({ extended: false, limit: '16kb' });

function credentials(req: Request): { email: string; password: string } {
  const email = String(req.body?.email ?? '')
    .trim()
    .toLowerCase();
  const password = String(req.body?.password ?? '');
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 200)
    throw new UserError('Enter a valid email address.');
  if (password.length < 8 || password.length > 200)
    throw new UserError('Passwords are 8 to 200 characters long.');
  return { email, password };
}

async function signIn(req: Request, user: { id: number; email: string }): Promise<void> {
  // A new id on login: a session id planted before it is worth nothing after.
  await req.session.regenerate();
  req.session.userId = user.id;
  req.session.email = user.email;
  req.session.setOwner(String(user.id));
}

app.post('/signup', form, async (req, res) => {
  const { email, password } = credentials(req);
  const hash = await hashPassword(password);
  const [user] = await db.query<{ id: number }>(
    'INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING RETURNING id',
    [email, hash, Date.now()],
  );
  if (!user) throw new UserError('That email already has an account: sign in instead.');
  await signIn(req, { id: Number(user.id), email });
  res.redirect(303, '/');
});

app.post('/signin', form, async (req, res) => {
  const { email, password } = credentials(req);
  const [user] = await db.query<{ id: number; password_hash: string }>(
    'SELECT id, password_hash FROM users WHERE email = ?',
    [email],
  );
  const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
  if (!user || !ok) throw new UserError('Wrong email or password.');
  await signIn(req, { id: Number(user.id), email });
  res.redirect(303, '/');
});

app.post('/signout', async (req, res) => {
  await req.session.destroy();
  res.redirect(303, '/');
});

app.post('/signout-everywhere', async (req, res) => {
  if (req.session.userId) await req.session.destroyAll();
  res.redirect(303, '/');
});

function userOf(req: Request): number {
  const id = req.session.userId;
  if (!id) throw new UserError('Sign in first.');
  return id;
}

app.post('/digests', form, async (req, res) => {
  const userId = userOf(req);
  const text = String(req.body?.url ?? '');
  let url: URL;
  try {
    url = parseSubmittedUrl(text);
  } catch (err) {
    if (err instanceof UserError) await recordRejected(db, userId, text, err.message);
    throw err;
  }
  await enqueueUrl(db, userId, url.href);
  res.redirect(303, '/');
});

app.post('/upload', expressScratch({ maxBytes: config.maxBytes }), async (req, res) => {
  const userId = userOf(req);
  const name = String(req.query.name ?? 'upload').slice(0, 200) || 'upload';
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > config.maxBytes) {
    res.status(413).json({
      error: `The file is larger than the limit of ${Math.round(config.maxBytes / 1048576)} MiB.`,
    });
    return;
  }
  const lease = await startUpload(db, userId, name, config.processName);
  let progress = {
    phase: 'uploading',
    bytes: 0,
    total: Number.isFinite(declared) ? declared : undefined,
  };
  const beat = setInterval(
    () => void heartbeat(db, lease, 10 * 60_000, progress).catch(() => {}),
    500,
  );
  try {
    const scratch = useScratch();
    req.on('data', (chunk: Buffer) => {
      progress = { ...progress, bytes: progress.bytes + chunk.length };
    });
    // Streamed to disk chunk by chunk, never buffered whole; the quota caps it.
    await pipeline(req, scratch.createWriteStream('upload'));
    const result = await digestFile(scratch.file('upload'), {
      csv: isCsv(name),
      signal: scratch.signal,
      onProgress: (bytes, total) => {
        progress = { phase: 'digesting', bytes, total };
      },
    });
    await finish(db, lease, result);
    res.json({ id: lease.id, result });
  } catch (err) {
    const { message } = explain(err, config);
    await fail(db, lease, message, true);
    res
      .status(err instanceof Error && 'statusCode' in err && err.statusCode === 413 ? 413 : 400)
      .json({ error: message });
  } finally {
    clearInterval(beat);
  }
});

function present(row: DigestRow) {
  const running = row.status === 'running';
  return {
    id: Number(row.id),
    name: row.name,
    source: row.source,
    status: row.status,
    phase: running ? row.phase : null,
    progress:
      running && row.total_bytes
        ? Math.min(1, Number(row.progress_bytes) / Number(row.total_bytes))
        : null,
    error: row.error,
    attempts: Number(row.attempts),
    result: row.result ? JSON.parse(row.result) : null,
  };
}

app.get('/api/digests', async (req, res) => {
  if (!req.session.userId) {
    res.status(401).json({ error: 'signed out' });
    return;
  }
  res.json((await listForUser(db, req.session.userId)).map(present));
});

app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
  if (err instanceof UserError) {
    if (req.accepts(['html', 'json']) === 'json') res.status(400).json({ error: err.message });
    else res.redirect(303, `/?error=${encodeURIComponent(err.message)}`);
    return;
  }
  console.error(err);
  res.status(500).json({ error: 'internal error' });
});

const server = createServer(app);
gracefulShutdown(server, { timeoutMs: 8000 });
onShutdown(async () => {
  await store.close();
  await db.close();
});
// Loopback on a workstation (`npm start` sits behind drove's balancer there); every interface in
// production (a container's port is reached from outside it) or wherever HOST says.
const host = process.env.HOST || (process.env.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1');
server.listen(Number(process.env.PORT ?? 3000), host, () => {
  console.log(`web ${config.processName} listening on ${process.env.PORT ?? 3000}`);
  void ready();
});
