import { js, ts } from '../rule-tester.test-helpers.js';
import { noLocalFiles as rule } from './no-local-files.js';

js.run('drove/no-local-files', rule, {
  valid: [
    // Temp directory and drove scratch: private to one request, fine.
    `import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
     const file = path.join(os.tmpdir(), 'upload.bin');
     app.post('/', async (req, res) => { fs.writeFileSync(file, req.body); res.send(fs.readFileSync(file)); });`,
    `import { writeFile, readFile, mkdtemp } from 'node:fs/promises';
     const dir = await mkdtemp('/tmp/app-'); await writeFile(dir + '/x', 'a'); await readFile(dir + '/x');`,
    `import { useScratch } from 'drovejs/scratch'; import { writeFile, readFile } from 'node:fs/promises';
     app.post('/', async (req, res) => { const s = useScratch(); await writeFile(s.file('a'), req.body); res.send(await readFile(s.file('a'))); });`,
    `const fs = require('fs'); fs.writeFileSync(process.env.TMPDIR + '/x', 'a'); fs.readFileSync(process.env.TMPDIR + '/x');`,
    // Written but never read back: a log.
    `const fs = require('fs'); const path = require('path');
     const log = fs.createWriteStream(path.join(__dirname, 'access.log'), { flags: 'a' });
     const page = fs.readFileSync(path.join(__dirname, 'views', 'index.html'));`,
    // An existence check is not reading the data back; nor is a different binding of the same name.
    `const fs = require('fs'); const path = require('path');
     function snapshot(dir, state) { if (!fs.existsSync(dir)) return; fs.writeFileSync(path.join(dir, 'db.json'), state); }`,
    `const fs = require('fs');
     function save(file, data) { fs.writeFileSync(file, data); }
     fs.watch('.', (event, file) => console.log(fs.readFileSync(file, 'utf8')));`,
    // Only read (templates, static files).
    `const express = require('express'); app.use(express.static(path.join(__dirname, 'public')));`,
    // Memory uploads and temp uploads.
    `const multer = require('multer'); const upload = multer({ storage: multer.memoryStorage() });`,
    `const multer = require('multer'); const upload = multer({ dest: os.tmpdir() }); const os = require('os');`,
    `import formidable from 'formidable'; const form = formidable({ maxFileSize: 1024 });`,
    // An in-memory nedb, a lowdb on memory.
    `import Datastore from '@seald-io/nedb'; const db = new Datastore();`,
    `import { Memory } from 'lowdb'; const adapter = new Memory();`,
  ],
  invalid: [
    {
      code: `const fs = require('fs'); const path = require('path');
             const UPLOADS = path.join(__dirname, 'uploads');
             app.post('/files/:name', (req, res) => { fs.writeFileSync(path.join(UPLOADS, req.params.name), req.body); res.end(); });
             app.get('/files/:name', (req, res) => res.send(fs.readFileSync(path.join(UPLOADS, req.params.name))));`,
      errors: [{ messageId: 'writeReadBack', line: 3, data: { call: 'fs.writeFileSync' } }],
    },
    {
      code: `import { writeFile, readFile } from 'node:fs/promises';
             export async function save(data) { await writeFile('./data/state.json', JSON.stringify(data)); }
             export async function load() { return JSON.parse(await readFile('data/state.json', 'utf8')); }`,
      errors: [{ messageId: 'writeReadBack', line: 2, data: { call: 'fs/promises.writeFile' } }],
    },
    {
      code: `const fs = require('fs');
             app.post('/avatar', (req, res) => { req.pipe(fs.createWriteStream('avatars/' + req.session.user)); res.end(); });
             app.get('/avatar', (req, res) => res.sendFile('avatars/' + req.session.user, { root: __dirname }));`,
      errors: [{ messageId: 'writeReadBack', line: 2 }],
    },
    {
      code: `import { JSONFilePreset } from 'lowdb/node'; const db = await JSONFilePreset('db.json', { posts: [] });`,
      errors: [{ messageId: 'fileStore', data: { pkg: 'lowdb/node' } }],
    },
    {
      code: `import { Low } from 'lowdb'; import { JSONFile } from 'lowdb/node';
             const db = new Low(new JSONFile(file), {});`,
      errors: [{ messageId: 'fileStore' }],
    },
    {
      code: `const low = require('lowdb'); const FileSync = require('lowdb/adapters/FileSync');
             const db = low(new FileSync('db.json'));`,
      errors: [{ messageId: 'fileStore', data: { pkg: 'lowdb/adapters/FileSync' } }],
    },
    {
      code: `const Datastore = require('nedb'); const users = new Datastore({ filename: 'users.db', autoload: true });`,
      errors: [{ messageId: 'fileStore', data: { pkg: 'nedb' } }],
    },
    {
      code: `const multer = require('multer'); const upload = multer({ dest: 'uploads/' });`,
      errors: [{ messageId: 'localUploads', data: { pkg: 'multer' } }],
    },
    {
      code: `import multer from 'multer';
             const storage = multer.diskStorage({ destination: (req, file, cb) => cb(null, 'public/uploads') });`,
      errors: [{ messageId: 'localUploads' }],
    },
    {
      code: `import formidable from 'formidable'; const form = formidable({ uploadDir: './uploads' });`,
      errors: [{ messageId: 'localUploads', data: { pkg: 'formidable' } }],
    },
  ],
});

ts.run('drove/no-local-files (TypeScript)', rule, {
  valid: [
    `import { tmpdir } from 'node:os'; import { join } from 'node:path'; import * as fs from 'node:fs';
     const f: string = join(tmpdir(), 'x'); fs.writeFileSync(f, 'a'); fs.readFileSync(f);`,
  ],
  invalid: [
    {
      code: `import * as fs from 'node:fs'; const DB_FILE: string = 'db.json';
             export function put(data: object): void { fs.writeFileSync(DB_FILE, JSON.stringify(data)); }
             export function get(): object { return JSON.parse(fs.readFileSync(DB_FILE, 'utf8') as string); }`,
      errors: [{ messageId: 'writeReadBack', line: 2 }],
    },
  ],
});
