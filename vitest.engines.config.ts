import { defineConfig } from 'vitest/config';

// The exports on real engines (issue 17): `npm run test:engines`. A private dockerd (Compose v2)
// and podman with their own roots; one file at a time, they share the cached image store.
export default defineConfig({
  test: {
    include: ['test/engines/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
