/**
 * `leadpipe check` and `leadpipe schema`.
 * @module
 */
import { configJsonSchema } from '../config/json-schema.js';
import { flag, parseCommandArgs, str } from './args.js';
import { EXIT, UsageError } from './errors.js';
import { loadConfig, plural, writeText } from './files.js';
import { COMMAND_HELP } from './help.js';
import type { CliContext } from './io.js';
import { createCliEngine } from './track.js';

/** `leadpipe check <config.json>`: validate and summarise, or list every problem (exit 1). */
export async function checkCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const args = parseCommandArgs('check', argv, {}, true);
  if (flag(args, 'help')) return help(ctx, 'check');
  const [path, ...extra] = args.positionals;
  if (path === undefined) throw new UsageError('missing config file: pass it, e.g. leadpipe check leadpipe.json');
  if (extra.length > 0) throw new UsageError(`check takes one config file, got ${args.positionals.length}: ${args.positionals.join(' ')}`, 'Check one file at a time.');
  const { config } = await loadConfig(ctx, path);
  // Compiling the rules catches what only the engine sees (operators, JSONPath syntax).
  createCliEngine(config, path);
  const routing = config.routing;
  const parts = [
    plural(Object.keys(config.signals).length, 'signal'),
    plural(config.qualification.rules.length, 'qualification rule'),
    plural(routing?.rules.length ?? 0, 'routing rule'),
    plural(routing?.owners.length ?? 0, 'owner'),
    plural(config.qualification.tiers.length, 'tier'),
  ];
  ctx.out(`${path}: valid leadpipe config: ${parts.join(', ')}`);
  return EXIT.ok;
}

/** `leadpipe schema [--out FILE]`: the config's JSON Schema, 2-space indented. */
export async function schemaCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const args = parseCommandArgs('schema', argv, { out: { type: 'string' } });
  if (flag(args, 'help')) return help(ctx, 'schema');
  const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
  const out = str(args, 'out');
  if (out === undefined) {
    ctx.io.stdout.write(text);
  } else {
    await writeText(ctx, out, 'schema file', text);
    ctx.err(`leadpipe: wrote the config JSON Schema to ${out}`);
  }
  return EXIT.ok;
}

/** Prints a command's help on stdout. */
export function help(ctx: CliContext, command: string): number {
  ctx.io.stdout.write(COMMAND_HELP[command] ?? '');
  return EXIT.ok;
}
