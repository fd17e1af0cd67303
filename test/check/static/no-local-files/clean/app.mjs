// Avatars resized in the OS temp directory within the request, then stored in the database.
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { db } from './db.mjs';
import { resize } from './resize.mjs';

const app = express();
const log = path.join(import.meta.dirname, 'access.log');

app.put('/users/:id/avatar', express.raw({ limit: '2mb' }), async (req, res) => {
  const file = path.join(os.tmpdir(), `avatar-${process.pid}-${Date.now()}.png`);
  await writeFile(file, req.body);
  try {
    await resize(file);
    await db.saveAvatar(Number(req.params.id), await readFile(file));
  } finally {
    await rm(file, { force: true });
  }
  res.status(204).end();
});

app.get('/users/:id/avatar', async (req, res) => {
  res.type('png').send(await db.avatar(Number(req.params.id)));
});

export { app, log };
