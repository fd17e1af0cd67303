import { defineConfig } from 'vitest/config';

// One project per kind of suite: unit tests beside the code, cross-cutting suites under test/.
// Suites that start servers or spawn processes run their files one at a time on this 2-core
// machine (fileParallelism: false) so timing-sensitive behaviour is not starved.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.test.ts', 'examples/*/src/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          globalSetup: ['./test/global-setup.ts'],
          include: ['test/**/*.test.ts'],
          // test/engines: real engines, minutes of image builds: `npm run test:engines`.
          exclude: ['test/faults/**', 'test/engines/**'],
          fileParallelism: false,
        },
      },
    ],
  },
});
