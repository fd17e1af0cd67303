/**
 * `drove balance`: drove's non-sticky balancer on its own, in front of replicas an engine runs
 * (Compose, systemd). Each upstream is `HOST:PORT`; a host name is re-resolved every few seconds
 * and every address it has becomes an instance (Compose's DNS answers a service name with all
 * its replicas), so replicas that come and go are added and drained without a restart.
 * Built only on `createBalancer`'s public API (add, drain, remove).
 * @module
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { InvalidOptionError } from '../errors.js';
import { type Balancer, type BalancerOptions, createBalancer } from './balancer.js';

/** One `--upstream` entry. */
export interface UpstreamTarget {
  host: string;
  port: number;
}

/** Resolve a host name to its addresses (all of them). */
export type Resolve = (host: string) => Promise<string[]>;

/** Options of {@link startStandaloneBalancer}. */
export interface StandaloneBalancerOptions extends Omit<BalancerOptions, 'port'> {
  port: number;
  upstreams: UpstreamTarget[];
  /** How often host names are resolved again. Default 2000 ms. */
  resolveIntervalMs?: number;
  /** How long a replica that left the DNS answer may finish its requests. Default 30 s. */
  drainMs?: number;
  /** Default: the system resolver (`dns.lookup`, all addresses), as the engine's DNS answers. */
  resolve?: Resolve;
}

/** A running standalone balancer. */
export interface StandaloneBalancer {
  balancer: Balancer;
  /** Resolve every upstream now and update the instances (also runs on a timer). */
  sync(): Promise<void>;
  /** Stop resolving, then close the balancer (in-flight requests get `timeoutMs`). */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Parse `web:5000` or `10.0.0.2:5001,10.0.0.3:5001` or `[::1]:5001`.
 *
 * @example
 * ```ts
 * parseUpstreams('web:5000'); // [{ host: 'web', port: 5000 }]
 * ```
 */
export function parseUpstreams(spec: string): UpstreamTarget[] {
  const targets = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((part) => {
      const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d+)$/.exec(part);
      const port = Number(match?.[3]);
      if (!match || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new InvalidOptionError({
          option: '--upstream',
          reason: `expected HOST:PORT[,HOST:PORT...], got ${JSON.stringify(part)}`,
        });
      }
      return { host: (match[1] ?? match[2]) as string, port };
    });
  if (targets.length === 0) {
    throw new InvalidOptionError({ option: '--upstream', reason: 'no HOST:PORT given' });
  }
  return targets;
}

const systemResolve: Resolve = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Resolver answers that mean "this name has no address now" (every replica is gone). */
const NO_ADDRESS = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * Listen and keep the instances in step with the upstreams' addresses. Resolves once the
 * balancer listens and the first resolution is done.
 *
 * @example
 * ```ts
 * const lb = await startStandaloneBalancer({
 *   port: 5000, host: '0.0.0.0', upstreams: parseUpstreams('web:5000'),
 * });
 * process.on('SIGTERM', () => void lb.close(30_000));
 * ```
 */
export async function startStandaloneBalancer(
  options: StandaloneBalancerOptions,
): Promise<StandaloneBalancer> {
  const { upstreams, resolveIntervalMs = 2_000, drainMs = 30_000 } = options;
  const resolve = options.resolve ?? systemResolve;
  const log = options.log ?? (() => {});
  const balancer = createBalancer(options);
  /** Instance ids routed now, per upstream, so a failed lookup keeps the last good answer. */
  const current = new Map<UpstreamTarget, Set<string>>();
  const failing = new Set<UpstreamTarget>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const addresses = async (target: UpstreamTarget): Promise<string[] | undefined> => {
    if (isIP(target.host)) return [target.host];
    try {
      const found = await resolve(target.host);
      if (failing.delete(target)) log(`balance: ${target.host} resolves again`);
      return found;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!failing.has(target)) log(`balance: cannot resolve ${target.host} (${code || err})`);
      failing.add(target);
      // No address at all: every replica is gone. Anything else (a timeout): keep the last answer.
      return NO_ADDRESS.has(code) ? [] : undefined;
    }
  };

  const sync = async (): Promise<void> => {
    const answers = await Promise.all(upstreams.map(addresses));
    if (closed) return;
    const wanted = new Set<string>();
    upstreams.forEach((target, i) => {
      const found = answers[i];
      const ids =
        found === undefined
          ? (current.get(target) ?? new Set<string>())
          : new Set([...new Set(found)].sort().map((a) => instanceId(target, a)));
      current.set(target, ids);
      for (const id of ids) wanted.add(id);
    });
    const known = new Map(balancer.list().map((i) => [i.id, i]));
    for (const id of wanted) {
      const info = known.get(id);
      if (info && info.state !== 'draining') continue;
      const { host, port } = parseId(id);
      balancer.add({ id, host, port });
      if (!info) log(`balance: + ${id}`);
    }
    for (const [id, info] of known) {
      if (wanted.has(id) || info.state === 'draining') continue;
      log(`balance: - ${id} (no longer resolved)`);
      void balancer.drain(id, drainMs).then(() => {
        // It may have come back while draining: then it stays.
        const again = balancer.list().find((i) => i.id === id);
        if (again?.state === 'draining') balancer.remove(id);
      });
    }
  };

  const loop = () => {
    timer = setTimeout(() => {
      void sync().finally(() => {
        if (!closed) loop();
      });
    }, resolveIntervalMs);
  };

  await balancer.listen();
  await sync();
  loop();
  return {
    balancer,
    sync,
    close: async (timeoutMs?: number) => {
      closed = true;
      if (timer) clearTimeout(timer);
      await balancer.close(timeoutMs);
    },
  };
}

/** `host@address:port`: the upstream's name stays visible in logs and `list()`. */
function instanceId(target: UpstreamTarget, address: string): string {
  const where = address.includes(':') ? `[${address}]` : address;
  return `${target.host}@${where}:${target.port}`;
}

function parseId(id: string): { host: string; port: number } {
  const at = id.lastIndexOf('@');
  const rest = id.slice(at + 1);
  const colon = rest.lastIndexOf(':');
  return {
    host: rest.slice(0, colon).replace(/^\[|\]$/g, ''),
    port: Number(rest.slice(colon + 1)),
  };
}
