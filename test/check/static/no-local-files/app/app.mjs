// Avatars saved into a folder of the app, and served back from it by a later request.
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import express from 'express';

const AVATARS = path.join(import.meta.dirname, 'avatars');
const app = express();

app.put('/users/:id/avatar', async (req, res) => {
  await pipeline(req, createWriteStream(path.join(AVATARS, `${Number(req.params.id)}.png`)));
  res.status(204).end();
});

app.get('/users/:id/avatar', (req, res) => {
  res.sendFile(path.join(AVATARS, `${Number(req.params.id)}.png`));
});

export default app;
