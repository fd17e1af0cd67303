/**
 * drove's ESLint rules on real apps from the npm registry (see real-apps.ts): every expected
 * finding is found, and each app has at most one finding nobody expected. Needs the npm
 * registry on the first run only; the tarballs are cached under node_modules/.cache.
 */
import { describe, expect, it } from 'vitest';
import { apps, checkRealApps, type Outcome } from './real-apps.js';

describe('drove check --static on real apps from npm', () => {
  let outcomes: Outcome[] = [];

  it('prepares and checks every app (downloads from the npm registry unless cached)', async () => {
    outcomes = await checkRealApps();
    expect(outcomes.map((o) => o.app.name)).toEqual(apps.map((a) => a.name));
    for (const o of outcomes) expect(o.files, o.app.name).toBeGreaterThan(2);
  }, 300_000);

  for (const app of apps) {
    it(`${app.name}: finds what was expected, with at most one false positive`, () => {
      const outcome = outcomes.find((o) => o.app === app);
      expect(outcome, 'the preparation step failed: see the test above').toBeDefined();
      expect(outcome!.missed).toEqual([]);
      expect(outcome!.unexpected.length).toBeLessThanOrEqual(1);
    });
  }
});
