#!/usr/bin/env node
/**
 * Entry point of the `leadpipe` executable: runs {@link main} on the process's arguments and
 * streams, and sets the exit code (letting pending output flush instead of calling `exit`).
 * @module
 */
import { main } from './main.js';

// `leadpipe schema | head` closes the pipe early: stop quietly instead of crashing.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  isTTY: process.stderr.isTTY === true,
  cwd: process.cwd(),
});
