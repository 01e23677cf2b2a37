import { defineConfig } from 'vitest/config';

// Native addons with their own thread pools do not mix with vitest's worker threads:
// every test file runs in its own forked process (DESIGN §8).
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
