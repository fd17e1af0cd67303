import { defineConfig } from 'vitest/config';

// Long load, fault and soak runs: `npm run faults`. Short versions of each live in `npm test`.
export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
