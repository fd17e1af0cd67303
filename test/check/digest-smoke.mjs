// A user's own smoke test of examples/digest, as `drove check` runs it: sign up, upload a file,
// list the digests, sign out and in again, on BASE_URL. Exits 1 at the first wrong answer.
import { randomUUID } from 'node:crypto';

const base = process.env.BASE_URL;
const jar = new Map();
async function request(method, path, { form, body, type } = {}) {
  const headers = { accept: 'application/json' };
  if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let payload = body;
  if (form) {
    payload = new URLSearchParams(form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (type) headers['content-type'] = type;
  const res = await fetch(new URL(path, base), {
    method,
    headers,
    body: payload,
    redirect: 'manual',
  });
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    const value = pair.slice(eq + 1);
    if (value === '' || /max-age=0/i.test(line)) jar.delete(pair.slice(0, eq));
    else jar.set(pair.slice(0, eq), value);
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text, servedBy: res.headers.get('x-served-by') };
}
function expect(ok, message, got) {
  if (!ok) {
    process.stderr.write(`not ok: ${message} (got ${got.status} ${got.text.slice(0, 200)})\n`);
    process.exit(1);
  }
  process.stdout.write(`ok: ${message} [${got.servedBy}]\n`);
}

const rounds = Number(process.env.ROUNDS ?? 1);
for (let i = 0; i < rounds; i++) {
  jar.clear();
  const credentials = {
    email: `smoke-${randomUUID()}@example.com`,
    password: 'correct horse battery',
  };
  let r = await request('POST', '/signup', { form: credentials });
  expect(r.status === 303, 'signs up', r);
  r = await request('GET', '/api/digests');
  expect(
    r.status === 200 && Array.isArray(r.json) && r.json.length === 0,
    'is signed in, no digests yet',
    r,
  );
  r = await request('POST', '/upload?name=words.txt', {
    body: 'one two three\nfour\n',
    type: 'text/plain',
  });
  expect(r.status === 200 && r.json?.id > 0, 'uploads a file', r);
  r = await request('GET', '/api/digests');
  expect(
    r.status === 200 && r.json.length === 1 && r.json[0].status === 'done',
    'lists the finished digest',
    r,
  );
  r = await request('POST', '/signout');
  expect(r.status === 303, 'signs out', r);
  r = await request('GET', '/api/digests');
  expect(r.status === 401, 'is signed out', r);
  r = await request('POST', '/signin', { form: credentials });
  expect(r.status === 303, 'signs in again', r);
  r = await request('GET', '/api/digests');
  expect(r.status === 200 && r.json.length === 1, 'finds the digest again', r);
}
