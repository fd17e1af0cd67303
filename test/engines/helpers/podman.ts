/**
 * A private podman for the engine suites: its own --root and --runroot, a CONTAINERS_CONF with
 * the fixes this sandbox needs (nofile/nproc limits it can set, cgroupfs, events to a file), and
 * its own CNI bridge network with no masquerade, no port mapping and no firewall plugin, so no
 * iptables/nft rule is made. `stop()` removes pods, containers, images and storage, deletes the
 * bridge, and checks nothing is left: mounts, processes, the global state podman writes even with
 * --root (/run/libpod, /var/lib/containers/cache, /var/lib/cni) unless it was there before.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupFolders, removeCgroups, run } from './run.js';

/** Paths podman or CNI create outside --root/--runroot. */
const GLOBAL = ['/run/libpod', '/run/containers', '/var/lib/containers', '/var/lib/cni'];

export interface Podman {
  /** The network's name (pass it to `kube play --network`). */
  network: string;
  /** An address for --ip, from the top of the /24 (the pods get theirs from the bottom). */
  fixedIp(n: number): string;
  podman(args: string[], options?: { ok?: number[]; input?: string }): string;
  stop(): void;
}

export function startPodman(): Podman {
  for (const binary of ['podman', 'catatonit']) {
    if (!run('sh', ['-c', `command -v ${binary} || true`]).stdout.trim()) {
      throw new Error(`${binary} is not installed: run scripts/setup-machine.sh as root`);
    }
  }
  const before = new Set(GLOBAL.filter((p) => existsSync(p)));
  // podman's cgroupfs parent (libpod_parent) stays behind, empty: removed in stop().
  const cgroupsBefore = cgroupFolders('libpod_parent');
  const base = mkdtempSync('/tmp/drove-podman.');
  const network = 'drove-engines';
  const bridge = `drovepod${process.pid % 1000}`;
  // A /24 from the pid: two runs on one machine do not collide.
  const subnet = `10.89.${100 + (process.pid % 100)}`;
  mkdirSync(join(base, 'net'));
  mkdirSync(join(base, 'tmp'));
  writeFileSync(
    join(base, 'net', `${network}.conflist`),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: network,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: join(base, 'ipam'),
            routes: [{ dst: '0.0.0.0/0' }],
            ranges: [[{ subnet: `${subnet}.0/24`, gateway: `${subnet}.1` }]],
          },
        },
      ],
    }),
  );
  const conf = join(base, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[containers]',
      // This sandbox cannot raise rlimits (no CAP_SYS_RESOURCE): podman's defaults fail.
      'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(base, 'events.log')}"`,
      `tmp_dir = "${join(base, 'tmp')}"`,
      '[network]',
      'network_backend = "cni"',
      `network_config_dir = "${join(base, 'net')}"`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const global = [
    '--root',
    join(base, 'root'),
    '--runroot',
    join(base, 'runroot'),
    '--storage-driver',
    'overlay',
  ];
  const podman: Podman['podman'] = (args, options = {}) =>
    run('podman', [...global, ...args], { env, ...options }).stdout;
  podman(['info', '--format', '{{.Host.NetworkBackend}}']);

  function stop(): void {
    const problems: string[] = [];
    for (const args of [
      ['pod', 'rm', '-af', '-t', '2'],
      ['rm', '-af', '-t', '2'],
      ['system', 'reset', '-f'],
    ]) {
      try {
        podman(args);
      } catch (err) {
        problems.push(String(err));
      }
    }
    run('ip', ['link', 'del', bridge], { ok: [0, 1] });
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((line) => line.includes(base));
    if (mounts.length > 0) problems.push(`left mounted:\n${mounts.join('\n')}`);
    const links = run('ip', ['-br', 'link']).stdout;
    if (links.includes(bridge)) problems.push(`bridge ${bridge} left`);
    const left = run('sh', ['-c', `pgrep -af '[c]onmon.*${base}' || true`]).stdout.trim();
    if (left) problems.push(`processes left: ${left}`);
    problems.push(...removeCgroups('libpod_parent', cgroupsBefore));
    for (const path of GLOBAL)
      if (!before.has(path)) rmSync(path, { recursive: true, force: true });
    rmSync(base, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`podman left things behind: ${problems.join('\n')}`);
  }
  return { network, fixedIp: (n) => `${subnet}.${250 + n}`, podman, stop };
}
