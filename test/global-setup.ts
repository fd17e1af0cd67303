/**
 * Global set-up for the vitest run. Servers that a suite needs are started by the suite itself
 * (test/helpers/servers.ts) on free loopback ports; here we only make sure the library is built,
 * because spawned-process tests run `dist/`.
 */
import { existsSync } from 'node:fs';

export default function setup(): void {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` before the tests (npm test does this).');
  }
}
