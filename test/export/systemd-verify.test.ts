/**
 * `systemd-analyze verify` on the exported units: an instance copy of each template
 * (`APP-web@5001.service`), the target, the release and the balancer. It exits 0 on unknown keys
 * and bad values (it only warns), so its output must be empty too.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExportFile } from '../../src/export/files.js';
import { CASES, render } from './cases.js';

const work = mkdtempSync(join(tmpdir(), 'drove-systemd-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function verify(
  caseName: string,
  files: ExportFile[],
): { status: number | null; output: string; units: string[] } {
  const dir = mkdtempSync(join(work, `${caseName}-`));
  const units: string[] = [];
  for (const file of files) {
    writeFileSync(join(dir, file.path), file.text);
    const template = /^(.+)@\.service$/.exec(file.path);
    if (template) {
      // The instance the target wants first, e.g. APP-web@5001.service.
      const target = files.find((f) => f.path.endsWith('.target'))!.text;
      const instance = new RegExp(`${template[1]}@(\\d+)\\.service`).exec(target)![0];
      writeFileSync(join(dir, instance), file.text);
      units.push(join(dir, instance));
    } else units.push(join(dir, file.path));
  }
  const run = spawnSync('systemd-analyze', ['verify', '--man=no', ...units], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (run.error) throw new Error(`systemd-analyze could not run: ${run.error.message}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}`, units };
}

/**
 * For formations whose programs are not on this machine (bundle, gunicorn): a bare name that
 * systemd would look up in its PATH becomes /usr/bin/true. Paths are kept as exported.
 */
function withExistingPrograms(files: ExportFile[]): ExportFile[] {
  return files.map((f) => ({
    ...f,
    text: f.text.replace(/^ExecStart=(?!node |\/)[^\s/]+ /m, 'ExecStart=/usr/bin/true '),
  }));
}

describe('systemd-analyze verify', () => {
  it.each(['digest', 'clock'])('%s: the units as exported are clean', (name) => {
    const files = render(CASES.find((c) => c.name === name)!, 'systemd');
    const result = verify(name, files);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
    expect(result.units.some((u) => /@\d+\.service$/.test(u))).toBe(true);
  });

  it('a relative program (bin/start-pgbouncer) becomes absolute under --workdir', () => {
    const workdir = mkdtempSync(join(work, 'forem-app-'));
    mkdirSync(join(workdir, 'bin'));
    writeFileSync(join(workdir, 'bin', 'start-pgbouncer'), '#!/bin/sh\nexec "$@"\n', {
      mode: 0o755,
    });
    const c = CASES.find((x) => x.name === 'forem')!;
    const files = render({ ...c, options: { ...c.options, workdir } }, 'systemd');
    const web = files.find((f) => f.path.endsWith('web@.service'))!;
    expect(web.text).toContain(`ExecStart=${workdir}/bin/start-pgbouncer bundle exec puma`);
    const result = verify('forem-abs', withExistingPrograms(files));
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it.each(['saleor', 'diaspora', 'discourse'])(
    '%s: clean with the programs replaced by ones that exist here',
    (name) => {
      const files = withExistingPrograms(render(CASES.find((c) => c.name === name)!, 'systemd'));
      const result = verify(name, files);
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    },
  );

  it('reports a broken unit (the check can fail)', () => {
    const files = render(CASES.find((c) => c.name === 'digest')!, 'systemd').map((f) =>
      f.path.endsWith('web@.service')
        ? { ...f, text: f.text.replace('KillMode=mixed', 'KillMode=bogus') }
        : f,
    );
    expect(verify('broken', files).output).toMatch(/kill mode specification/);
  });

  it('every unit is PartOf the target, which wants every instance; release before web', () => {
    const files = render(CASES.find((c) => c.name === 'digest')!, 'systemd');
    const byPath = new Map(files.map((f) => [f.path, f.text]));
    expect([...byPath.keys()].sort()).toEqual([
      'digest-balancer.service',
      'digest-release.service',
      'digest-web@.service',
      'digest-worker@.service',
      'digest.target',
    ]);
    for (const [path, text] of byPath) {
      if (path.endsWith('.service')) expect(text, path).toContain('PartOf=digest.target\n');
    }
    expect(byPath.get('digest.target')).toContain(
      'Wants=digest-release.service digest-web@5101.service digest-web@5102.service digest-web@5103.service digest-worker@5201.service digest-balancer.service\n',
    );
    const web = byPath.get('digest-web@.service')!;
    for (const line of [
      'Requires=digest-release.service',
      'After=digest-release.service network-online.target',
      'Environment=PORT=%i PS=web.%i DYNO=web.%i',
      'Restart=always',
      'KillMode=mixed',
      'TimeoutStopSec=30s',
    ]) {
      expect(web).toContain(`${line}\n`);
    }
    const release = byPath.get('digest-release.service')!;
    expect(release).toContain('Type=oneshot\n');
    expect(release).toContain('RemainAfterExit=yes\n');
    expect(byPath.get('digest-balancer.service')).toContain(
      '--upstream 127.0.0.1:5101,127.0.0.1:5102,127.0.0.1:5103',
    );
    // `drove balance` exits 143 after SIGTERM: a stop must leave its unit inactive, not failed
    // (seen with systemd as PID 1: test/faults/systemd-engine.test.ts).
    for (const [path, text] of byPath) {
      if (path.endsWith('.service')) expect(text, path).toContain('SuccessExitStatus=130 143\n');
    }
  });

  it('EnvironmentFile per .env file, under the install folder', () => {
    const web = render(CASES.find((c) => c.name === 'discourse')!, 'systemd').find((f) =>
      f.path.endsWith('web@.service'),
    )!;
    expect(web.text).toContain(
      'EnvironmentFile=/opt/discourse/.env\nEnvironmentFile=/opt/discourse/.env.production\n',
    );
    expect(web.text).toContain('ExecStart=bundle exec rails server -p $' + '{PORT}\n');
  });
});
