import { defineConfig } from 'vitest/config';

// One config for the whole repository. Unit tests live next to the code
// (packages/*/src/**/*.test.ts, services/*/src/**/*.test.ts); integration and
// end-to-end tests live in test/. Every test talks to the machine's real
// PostgreSQL and Redis and isolates itself (own database, own queue prefix).
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
