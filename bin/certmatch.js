#!/usr/bin/env node
// The installed entry point: runs the compiled CLI. `npm install` builds dist/ through the prepare script.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write('certmatch: dist/ is missing; run `npm install` (or `npm run build`) first.\n');
  process.exit(1);
}
await import(compiled.href);
