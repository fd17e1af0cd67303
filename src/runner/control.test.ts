import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callControl, controlSocketPath, serveControl } from './control.js';

describe('control socket', () => {
  it('lives in .drove/ when the path is short enough, else under the temp directory', () => {
    expect(controlSocketPath('/srv/app')).toBe('/srv/app/.drove/control.sock');
    const long = `/srv/${'x'.repeat(120)}`;
    const path = controlSocketPath(long);
    expect(path.startsWith(tmpdir())).toBe(true);
    expect(Buffer.byteLength(path)).toBeLessThanOrEqual(107);
    expect(controlSocketPath(long)).toBe(path);
  });

  it('serves one JSON request per connection, mode 0600, and refuses a second runner', async () => {
    const path = controlSocketPath(mkdtempSync(join(tmpdir(), 'drove-ctl-')));
    const server = await serveControl(path, async (req) => {
      if (req.cmd === 'ps') return [{ name: 'web.1' }];
      throw new Error('nope');
    });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
      expect(await callControl(path, { cmd: 'ps' })).toEqual([{ name: 'web.1' }]);
      await expect(callControl(path, { cmd: 'restart' })).rejects.toThrow('nope');
      await expect(serveControl(path, async () => null)).rejects.toThrow(/already running/);
    } finally {
      server.close();
    }
    await expect(callControl(path, { cmd: 'ps' })).rejects.toThrowError(
      expect.objectContaining({ code: 'DROVE_ERR_CONTROL_UNREACHABLE' }),
    );
  });
});
