import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Browser suites start Chromium; two cores do not fit several at once.
    fileParallelism: false,
    reporters: ['default'],
    // The built package's xgrammar script is UMD, imported by file URL: Node must run it as is (vitest's transform would hide its global).
    server: { deps: { external: [/\/dist\/assets\/xgrammar\.js/] } },
  },
});
