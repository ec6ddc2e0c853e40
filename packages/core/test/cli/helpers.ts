/** Runs the CLI in-process with captured output. */
import { fileURLToPath } from 'node:url';
import { main, type CliIO } from '../../src/cli/main.js';

/** Absolute path of the fixtures directory (the default cwd of {@link cli}). */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** Absolute path of the repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Output of one in-process run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A string sink with the shape of a stream. */
export function sink(options: { isTTY?: boolean; columns?: number } = {}): { write(chunk: string): boolean; text: string; isTTY?: boolean; columns?: number } {
  const s = {
    text: '',
    ...options,
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s;
}

/** Runs `leadpipe <args>` in-process, with cwd = fixtures unless given. */
export async function cli(args: string[], io: Partial<CliIO> = {}): Promise<CliRun> {
  const stdout = sink();
  const stderr = sink();
  const code = await main(args, { stdout, stderr, cwd: FIXTURES, ...io });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
