#!/usr/bin/env node
// The webinfer command. A built package runs dist/cli.js; a source checkout without a build runs
// src/cli/main.ts through tsx (a devDependency).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli.js', import.meta.url);
let main;
if (existsSync(built)) ({ main } = await import(built.href));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(new URL('../src/cli/main.ts', import.meta.url).href));
}
await main(process.argv.slice(2));
