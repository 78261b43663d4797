#!/usr/bin/env node
// The `calsync` executable (package.json "bin"): runs the CLI on process.argv and exits with its code.
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  io: {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  },
});
process.exitCode = code;
