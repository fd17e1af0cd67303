// Long version of the runner's load tests (`npm run faults`): repeated rolling restarts and
// instance kills under steady loopback load, then a runner SIGKILL; counts failures honestly.
import autocannon from 'autocannon';
import { describe, expect, it } from 'vitest';
import {
  FIXTURES,
  freeBase,
  membersOf,
  ps,
  scratch,
  startRunner,
  waitFor,
} from '../runner/helpers.js';

const ROUNDS = Number(process.env.DROVE_SOAK_ROUNDS ?? 6);

describe('runner soak', () => {
  it(`${ROUNDS} rolling restarts of 3 web instances under load: zero failed requests`, async () => {
    const runner = startRunner(
      scratch({ Procfile: `web: node ${FIXTURES}app.mjs\nworker: node ${FIXTURES}worker.mjs\n` }),
      await freeBase(),
      ['-m', 'web=3,worker=2'],
    );
    try {
      await waitFor('formation up', async () => (await ps(runner)).every((r) => r.state === 'up'));
      const pgidsSeen = new Set<number>();
      let instance: autocannon.Instance | undefined;
      const result = new Promise<autocannon.Result>((resolve, reject) => {
        instance = autocannon(
          { url: `http://127.0.0.1:${runner.base}/?delay=5`, connections: 16, duration: 600 },
          (err, res) => (err ? reject(err) : resolve(res)),
        );
      });
      for (let round = 0; round < ROUNDS; round++) {
        for (const row of await ps(runner)) pgidsSeen.add(row.pgid!);
        const restart = await runner.drove(...(round % 2 ? ['restart', 'web'] : ['restart']));
        expect(restart.code).toBe(0);
      }
      instance!.stop();
      const load = await result;
      console.log(
        `soak: ${load.requests.total} requests over ${ROUNDS} rolling restarts; non2xx ${load.non2xx}, errors ${load.errors}, timeouts ${load.timeouts}, p99 ${load.latency.p99} ms`,
      );
      expect(load.non2xx + load.errors + load.timeouts).toBe(0);
      for (const row of await ps(runner)) pgidsSeen.add(row.pgid!);
      runner.child.kill('SIGKILL');
      await runner.exited;
      await waitFor('no process left', () => membersOf([...pgidsSeen]).length === 0, 10_000);
    } finally {
      if (runner.child.exitCode === null) runner.child.kill('SIGKILL');
    }
  });
});
