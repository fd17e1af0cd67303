// Balancer benchmark: two backend instances hit directly, behind nginx round robin and behind
// drove's balancer — one run, interleaved rounds — for a realistic (Express + session) and a bare
// (node:http hello world) backend. Prints a Markdown table; writes bench/results/balancer.json.
//
//   npm run build && node bench/balancer/run.mjs [--rounds 3] [--duration 5] [--connections 64]
//                                               [--designs] [--pin]
//
// --designs also measures the proxy designs drove's balancer was chosen from (proxy.mjs).
// --pin pins proxies to CPU 1 and backends to CPU 0 (autocannon floats); default: no pinning.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    kinds: { type: 'string', default: 'realistic,bare' },
    designs: { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const duration = Number(args.duration);
const connections = Number(args.connections);
const here = new URL('.', import.meta.url).pathname;
const NGINX = '/usr/sbin/nginx';
if (!existsSync(NGINX))
  throw new Error(`${NGINX} is missing: install Debian's nginx (apt-get install nginx)`);
// The session every backend knows (see backend.mjs), signed with the backend's secret.
const SESSION_COOKIE =
  'connect.sid=s%3Abench-session-0001.ZIoMj9p1jA8LokNFyclJJ4y5cNOES8FSdvNzZMSMLi8';

const children = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function pinned(cpu, command, argv) {
  return args.pin ? ['taskset', ['-c', String(cpu), command, ...argv]] : [command, argv];
}

/** Start a node script with IPC and wait for its 'ready' message. */
async function startNode(script, argv, cpu) {
  const [cmd, cmdArgs] = pinned(cpu, process.execPath, [join(here, script), ...argv]);
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) =>
      reject(new Error(`${script} ${argv.join(' ')} exited with ${code}`)),
    );
  });
  return child;
}

async function startNginx(port, backendPorts) {
  const prefix = mkdtempSync(join(tmpdir(), 'drove-bench-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, d));
  const conf = `worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  upstream app {
    ${backendPorts.map((p) => `server 127.0.0.1:${p};`).join('\n    ')}
    keepalive 128;
    keepalive_timeout 4s;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Request-Id $request_id;
    }
  }
}
`;
  writeFileSync(join(prefix, 'nginx.conf'), conf);
  const [cmd, cmdArgs] = pinned(1, NGINX, [
    '-p',
    prefix,
    '-c',
    join(prefix, 'nginx.conf'),
    '-e',
    join(prefix, 'error.log'),
  ]);
  const child = spawn(cmd, cmdArgs, { stdio: 'inherit' });
  children.push(child);
  child.on('exit', () => rmSync(prefix, { recursive: true, force: true }));
  await waitForHttp(port);
  return child;
}

async function waitForHttp(port) {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing answers on port ${port}`);
}

function cannon(port, conns, seconds, headers) {
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `http://127.0.0.1:${port}/`, connections: conns, duration: seconds, headers },
      (err, r) => (err ? reject(err) : resolve(r)),
    );
  });
}

/** CPU time (user + system, ms) a process has used so far, from /proc. */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in 1/100 s
}

/** One measurement: for `direct`, half the connections on each backend at once. */
async function measure(target, seconds, headers) {
  const ports = target.ports;
  const cpuBefore = target.pid ? cpuMs(target.pid) : 0;
  const results = await Promise.all(
    ports.map((p) =>
      cannon(p, Math.max(1, Math.round(connections / ports.length)), seconds, headers),
    ),
  );
  const total = results.reduce((s, r) => s + r.requests.total, 0);
  return {
    rps: total / seconds,
    p99: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((s, r) => s + r.errors + r.timeouts + r.non2xx, 0),
    // The proxy's own CPU per request (µs): robust to other load on the machine, unlike req/s.
    cpuUs: target.pid ? ((cpuMs(target.pid) - cpuBefore) * 1000) / total : undefined,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const os = await import('node:os');
const report = {
  machine: `${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at start`,
  rounds,
  duration,
  connections,
  pinned: args.pin,
  kinds: {},
};
for (const kind of args.kinds.split(',')) {
  const backendPorts = [await freePort(), await freePort()];
  const backends = await Promise.all(
    backendPorts.map((p) => startNode('backend.mjs', [kind, String(p)], 0)),
  );
  const targets = [{ name: 'direct', ports: backendPorts }];
  const nginxPort = await freePort();
  const nginx = await startNginx(nginxPort, backendPorts);
  // The worker does the proxying (worker_processes 1); the master only supervises.
  const nginxWorker = Number(
    readFileSync(`/proc/${nginx.pid}/task/${nginx.pid}/children`, 'utf8').trim().split(' ')[0],
  );
  targets.push({ name: 'nginx', ports: [nginxPort], pid: nginxWorker });
  const designs = args.designs ? ['drove', 'http-proxy-3', 'node-http'] : ['drove'];
  const proxies = [];
  for (const design of designs) {
    const port = await freePort();
    const proxy = await startNode(
      'proxy.mjs',
      [design, String(port), ...backendPorts.map(String)],
      1,
    );
    proxies.push(proxy);
    targets.push({ name: design, ports: [port], pid: proxy.pid });
  }
  const headers = kind === 'realistic' ? { cookie: SESSION_COOKIE } : {};
  for (const t of targets) await measure(t, 1, headers); // warm-up (JIT, keep-alive pools)
  const samples = Object.fromEntries(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no target always follows the same one.
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    for (const t of order) {
      const m = await measure(t, duration, headers);
      samples[t.name].push(m);
      process.stderr.write(
        `${kind} round ${r + 1} ${t.name}: ${Math.round(m.rps)} req/s p99 ${m.p99} ms errors ${m.errors} cpu ${m.cpuUs?.toFixed(0) ?? '-'} us/req\n`,
      );
    }
  }
  const summary = {};
  for (const [name, ms] of Object.entries(samples)) {
    summary[name] = {
      rps: Math.round(median(ms.map((m) => m.rps))),
      p99: median(ms.map((m) => m.p99)),
      errors: ms.reduce((s, m) => s + m.errors, 0),
      cpuUs: ms[0].cpuUs === undefined ? undefined : Math.round(median(ms.map((m) => m.cpuUs))),
    };
  }
  report.kinds[kind] = summary;
  await Promise.all([...backends, nginx, ...proxies].map(stop));
  // Should the master have gone before it told its worker, the worker must not outlive the run.
  try {
    if (readFileSync(`/proc/${nginxWorker}/cmdline`, 'utf8').startsWith('nginx'))
      process.kill(nginxWorker, 'SIGKILL');
  } catch {
    // already gone, as it should be
  }
}

/** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone. */
function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const fmt = (x) => x.toFixed(2);
console.log(
  `\nbalancer benchmark: ${report.machine}, ${connections} connections, ${rounds} interleaved rounds of ${duration} s, pinned: ${args.pin}\n`,
);
console.log(
  '| backend | target | req/s | p99 ms | errors | req/s vs nginx | p99 vs nginx | req/s vs direct | proxy CPU µs/req |',
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const [kind, s] of Object.entries(report.kinds)) {
  for (const [name, m] of Object.entries(s)) {
    console.log(
      `| ${kind} | ${name} | ${m.rps} | ${m.p99} | ${m.errors} | ${fmt(m.rps / s.nginx.rps)}x | ${fmt(m.p99 / s.nginx.p99)}x | ${fmt(m.rps / s.direct.rps)}x | ${m.cpuUs ?? '–'} |`,
    );
  }
}
mkdirSync(join(here, '../results'), { recursive: true });
writeFileSync(join(here, '../results/balancer.json'), `${JSON.stringify(report, null, 2)}\n`);
process.exit(0);
