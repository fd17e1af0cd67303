import { js, ts } from '../rule-tester.test-helpers.js';
import { noModuleState as rule } from './no-module-state.js';

js.run('drove/no-module-state', rule, {
  valid: [
    // Constants, only read in handlers.
    `const LIMITS = { maxBytes: 1024 }; const NAMES = new Set(['a']);
     app.get('/', (req, res) => res.json({ ok: NAMES.has(req.query.n), max: LIMITS.maxBytes }));`,
    // Written at start-up only: configuration.
    `const routes = []; routes.push('/a'); let port = 3000; port = Number(process.env.PORT);
     app.get('/', (req, res) => res.json(routes));`,
    // A lazily created client.
    `let pool; export function db() { if (!pool) pool = new Pool(); return pool; }`,
    `let client; export async function redis() { client ??= await connect(); return client; }`,
    `let client = null; app.get('/', async (req, res) => { if (client === null) client = makeClient(); res.send(await client.get('x')); });`,
    `let cached; export function settings() { if (cached) return cached; cached = load(); return cached; }`,
    // Memoisation of a pure function of the key.
    `const memo = new Map();
     export function slug(text) {
       if (memo.has(text)) return memo.get(text);
       const value = text.toLowerCase().replace(/\\W+/g, '-');
       memo.set(text, value);
       return value;
     }`,
    `const compiled = {};
     app.get('/t/:name', (req, res) => {
       const name = req.params.name;
       if (!compiled[name]) compiled[name] = compileTemplate(name);
       res.send(compiled[name]());
     });`,
    // Configuration setters and plain replacement in exported functions.
    `let logger = console; export function setLogger(next) { logger = next; }`,
    `const handlers = new Map(); export function register(name, fn) { handlers.set(name, fn); }`,
    `let options = {}; export function configure(next) { options = { ...defaults, ...next }; }`,
    `const settings = { port: 3000 }; export function port(value) { settings.port = value; }`,
    // Per-request state: a local, or a WeakMap keyed by the request.
    `const extras = new WeakMap(); app.use((req, res, next) => { extras.set(req, {}); next(); });`,
    `app.post('/', (req, res) => { const items = []; items.push(req.body); let n = 0; n++; res.json(items); });`,
    // Module state written by a function nobody exports or routes to (start-up code).
    `const seen = new Set(); function warmUp(x) { seen.add(x); } warmUp(1);`,
    // A shadowing local of the same name.
    `const cache = new Map(); app.get('/', (req, res) => { const cache = new Map(); cache.set(1, 2); res.end(); });`,
  ],
  invalid: [
    {
      // One finding per function, so that disabling one site does not hide the others.
      code: `let hits = 0;
             app.get('/', (req, res) => { hits++; hits++; res.json({ hits }); });
             app.post('/reset', (req, res) => { hits = 0; res.end(); });`,
      errors: [
        { messageId: 'moduleState', line: 2 },
        { messageId: 'moduleState', line: 3 },
      ],
    },
    {
      code: `let hits = 0; app.get('/', (req, res) => { hits++; res.json({ hits }); });`,
      errors: [{ messageId: 'moduleState', data: { name: 'hits', where: 'a request handler' } }],
    },
    {
      code: `const carts = new Map();
             router.post('/cart', function (req, res) { carts.set(req.session.id, req.body); res.end(); });`,
      errors: [{ messageId: 'moduleState', line: 2 }],
    },
    {
      code: `const messages = [];
             function remember(message) { messages.push(message); }
             app.post('/m', (req, res) => { remember(req.body.text); res.end(); });`,
      errors: [{ messageId: 'moduleState', line: 2 }],
    },
    {
      code: `const users = {}; function create(req, res) { users[req.body.id] = req.body; res.end(); }
             module.exports = { create };`,
      errors: [{ messageId: 'moduleState' }],
    },
    {
      code: `const state = { count: 0 }; fastify.get('/', async (request, reply) => { state.count += 1; return state; });`,
      errors: [{ messageId: 'moduleState' }],
    },
    {
      code: `const items = []; export function addItem(item) { items.push(item); }`,
      errors: [
        { messageId: 'moduleState', data: { name: 'items', where: 'an exported function' } },
      ],
    },
    {
      code: `let total = 0; exports.add = function (n) { total = total + n; return total; };`,
      errors: [{ messageId: 'moduleState' }],
    },
    {
      // A cache of awaited data is not memoisation of a pure function.
      code: `const users = new Map();
             app.get('/u/:id', async (req, res) => {
               const id = req.params.id;
               if (!users.has(id)) users.set(id, await db.user(id));
               res.json(users.get(id));
             });`,
      errors: [{ messageId: 'moduleState', line: 4 }],
    },
    {
      code: `let last; app.post('/', (req, res) => { last = req.body; res.end(); });`,
      errors: [{ messageId: 'moduleState' }],
    },
    {
      // Written in a callback nested in a handler.
      code: `const seen = new Set(); app.use((req, res, next) => { res.on('finish', () => seen.add(req.ip)); next(); });`,
      errors: [{ messageId: 'moduleState' }],
    },
    {
      code: `const queue = []; export default { fetch(request) { queue.push(request.url); return new Response('ok'); } };`,
      errors: [{ messageId: 'moduleState' }],
    },
  ],
});

ts.run('drove/no-module-state (TypeScript)', rule, {
  valid: [
    `let db: Db | undefined; export function getDb(): Db { if (!db) db = open(); return db!; }`,
    `declare let x: number; export function f(): void {}`,
  ],
  invalid: [
    {
      code: `const sessions = new Map<string, User>();
             app.post('/login', (req: Request, res: Response) => { sessions.set(req.body.name as string, req.body); res.end(); });`,
      errors: [{ messageId: 'moduleState', line: 2 }],
    },
    {
      code: `export const counters: Record<string, number> = {};
             export function bump(name: string): void { counters[name]! += 1; }`,
      errors: [{ messageId: 'moduleState' }],
    },
  ],
});
