// @ts-nocheck -- a fixture for drove check --static, not compiled
// The same API on PostgreSQL. Module scope holds only constants, a lazily created pool and a
// memoised pure function: the same in every process.
import express, { type Request, type Response } from 'express';
import pg from 'pg';

const MAX_TITLE = 200;
const statusNames = new Map([
  [0, 'open'],
  [1, 'done'],
]);

let pool: pg.Pool | undefined;
function db(): pg.Pool {
  if (!pool) pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
  return pool;
}

const slugs = new Map<string, string>();
function slug(title: string): string {
  const hit = slugs.get(title);
  if (hit !== undefined) return hit;
  const value = title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  slugs.set(title, value);
  return value;
}

const app = express();
app.use(express.json());

app.post('/todos', async (req: Request, res: Response) => {
  const title = String(req.body.title).slice(0, MAX_TITLE);
  const { rows } = await db().query(
    'INSERT INTO todos (title, slug, status) VALUES ($1, $2, 0) RETURNING id',
    [title, slug(title)],
  );
  res.status(201).json({ id: rows[0].id, title, status: statusNames.get(0) });
});

app.get('/todos', async (_req: Request, res: Response) => {
  const { rows } = await db().query('SELECT id, title, status FROM todos ORDER BY id');
  res.json(rows.map((r) => ({ ...r, status: statusNames.get(r.status) })));
});

export default app;
