/**
 * The `leadpipe` command-line tool. {@link main} takes the arguments and the streams and returns
 * the exit code, so it runs the same in a terminal (`bin.ts`) and in-process in tests.
 * @module
 */
import { readFileSync } from 'node:fs';
import { closest } from './args.js';
import { checkCommand, schemaCommand } from './check.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { explainCommand } from './explain.js';
import { COMMAND_HELP, GLOBAL_HELP } from './help.js';
import { createContext, type CliContext, type CliIO } from './io.js';
import { runCommand } from './run.js';
import { simulateCommand } from './simulate.js';

export type { CliIO, CliOutput } from './io.js';
export { EXIT, type ExitCode } from './errors.js';

const COMMANDS: Record<string, (ctx: CliContext, argv: string[]) => Promise<number>> = {
  check: checkCommand,
  schema: schemaCommand,
  run: runCommand,
  explain: explainCommand,
  simulate: simulateCommand,
};

/**
 * Runs the `leadpipe` command line and returns its exit code: 0 success, 1 invalid config or
 * events, 2 usage error, 3 unreadable or unwritable file, 4 unexpected internal error.
 * Nothing is thrown; every failure is printed on `io.stderr`.
 * @param argv - the arguments after the program name, e.g. `['check', 'leadpipe.json']`
 * @param io - output streams, optional stdin (for `--events -`), whether stderr is a terminal, and the directory relative paths resolve against
 * @example
 * const code = await main(['check', 'leadpipe.json'], { stdout: process.stdout, stderr: process.stderr });
 */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const ctx = createContext(io);
  try {
    const [command, ...rest] = argv;
    if (command === undefined) {
      io.stderr.write(GLOBAL_HELP);
      return EXIT.usage;
    }
    if (command === '--help' || command === '-h') {
      io.stdout.write(GLOBAL_HELP);
      return EXIT.ok;
    }
    if (command === 'help') {
      const topic = rest[0];
      if (topic === undefined) io.stdout.write(GLOBAL_HELP);
      else if (COMMAND_HELP[topic]) io.stdout.write(COMMAND_HELP[topic]);
      else throw unknownCommand(topic);
      return EXIT.ok;
    }
    if (command === '--version' || command === '-v') {
      ctx.out(version());
      return EXIT.ok;
    }
    if (command.startsWith('-')) throw new UsageError(`unknown option ${command}: options come after the command`, 'Run "leadpipe --help" for the commands.');
    const run = COMMANDS[command];
    if (!run) throw unknownCommand(command);
    return await run(ctx, rest);
  } catch (error) {
    if (error instanceof CliError) {
      for (const line of error.lines) ctx.err(line);
      return error.exitCode;
    }
    ctx.err(`leadpipe: unexpected internal error: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof Error && error.stack) ctx.err(error.stack);
    ctx.err('This is a bug in leadpipe. Please report it with the command you ran and the stack trace above.');
    return EXIT.internal;
  }
}

function unknownCommand(command: string): UsageError {
  const guess = closest(command, Object.keys(COMMANDS));
  return new UsageError(
    `unknown command "${command}"${guess ? `: did you mean "${guess}"?` : ''}`,
    `Commands: ${Object.keys(COMMANDS).join(', ')}. Run "leadpipe --help" for usage.`,
  );
}

/** The version of `@leadpipe/core`, from its package.json (two levels up from both `src/cli` and `dist/cli`). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
