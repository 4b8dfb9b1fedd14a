#!/usr/bin/env node
import { runCli } from './main.js';

const code = await runCli(process.argv.slice(2), process.env, {
  out: (l = '') => process.stdout.write(`${l}\n`),
  err: (l = '') => process.stderr.write(`${l}\n`),
});
process.exitCode = code;
