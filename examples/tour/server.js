// The README tour: sessions that survive any process, scratch space for one request.

import { publicAddressesOnly, useScratch } from 'drovejs/scratch';
import { expressScratch } from 'drovejs/scratch/express';
import { session, sessionErrors } from 'drovejs/session/express';
import { createStore } from 'drovejs/stores';
import express from 'express';

const store = createStore(process.env.SESSION_STORE_URL ?? 'sqlite:.drove/sessions.db');
// Downloads from private and loopback addresses are refused, except while developing here.
const guard = process.env.NODE_ENV === 'development' ? undefined : publicAddressesOnly;

const app = express();
app.use(express.json());
app.use(session({ store }));
app.use(expressScratch({ maxBytes: 500e6 }));

// update() is an atomic read-modify-write: parallel requests on any process lose no visit.
app.post('/visit', async (req, res) => {
  await req.session.update((s) => {
    s.visits = (s.visits ?? 0) + 1;
  });
  res.json({ visits: req.session.visits, servedBy: process.env.DYNO });
});

app.post('/login', async (req, res) => {
  await req.session.regenerate(); // a new id at sign-in: no session fixation
  req.session.userId = req.body.user;
  req.session.setOwner(req.body.user); // for "sign out everywhere"
  res.json({ signedIn: req.body.user });
});

app.get('/me', (req, res) => {
  res.json({ userId: req.session.userId ?? null, servedBy: process.env.DYNO });
});

// Download a big file, work on it, answer, forget it: the file is gone once the response is sent.
app.post('/digest', async (req, res) => {
  const { bytes, sha256 } = await useScratch().download(req.body.url, { maxBytes: 200e6, guard });
  res.json({ bytes, sha256 });
});

// drove's errors thrown in a route become JSON with their status (a store outage: 503 + Retry-After).
app.use(sessionErrors());

app.listen(Number(process.env.PORT ?? 3000), () => {
  console.log(`listening on ${process.env.PORT ?? 3000}`);
});
