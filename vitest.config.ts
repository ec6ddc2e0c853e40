import { defineConfig } from 'vitest/config';

// Tests run against the TypeScript sources: the `@leadpipe/source` export condition points
// every workspace package at its `src/` entry, so no build step is needed before `pnpm test`.
export default defineConfig({
  resolve: { conditions: ['@leadpipe/source'] },
  ssr: { resolve: { conditions: ['@leadpipe/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
