/**
 * Help texts of the `leadpipe` command. Kept next to each other so they stay consistent with
 * `docs/cli.md`.
 * @module
 */

const EXIT_CODES = `Exit codes:
  0  success
  1  invalid config or events (every problem is listed)
  2  usage error (unknown command or flag, missing or malformed flag)
  3  a file could not be read or written (the path and OS reason are printed)
  4  unexpected internal error (a bug: please report it)`;

/** `leadpipe --help`. */
export const GLOBAL_HELP = `leadpipe: turn interaction events into scored, qualified, routed leads.

Usage: leadpipe <command> [options]

Commands:
  check <config.json>   validate a config; list every problem with its JSON path
  schema [--out FILE]   print the JSON Schema of the config
  run                   track an NDJSON events file and summarise the leads
  explain               explain one lead: score, rules, stage history, routing
  simulate              dry-run events and show what each one would do

Options:
  -h, --help            show help (also "leadpipe <command> --help")
  -v, --version         print the version

Paths are relative to the current directory. An events file is NDJSON: one event
object per line, blank lines ignored; "-" reads standard input.

${EXIT_CODES}
`;

/** Help of each command, by name. */
export const COMMAND_HELP: Record<string, string> = {
  check: `Usage: leadpipe check <config.json>

Validates a config file. On success prints one line with the number of signals,
rules, owners and tiers. On failure prints every problem as "path: message".

Example:
  leadpipe check leadpipe.json

${EXIT_CODES}
`,
  schema: `Usage: leadpipe schema [--out FILE]

Prints the JSON Schema (draft 2020-12) of the config, for editors and "$schema".

Options:
  --out FILE     write the schema to FILE instead of standard output
  -h, --help     show this help

${EXIT_CODES}
`,
  run: `Usage: leadpipe run --config FILE --events FILE [options]

Validates every line of the events file first; if any is invalid, lists the
problems as "line N: path: message" and processes nothing. Then tracks the events
through an in-memory engine and prints totals, leads by stage and tier, and
routed leads by owner. A progress bar is shown on a terminal for large files.

Options:
  --config FILE     the leadpipe config (JSON)
  --events FILE     NDJSON events, one per line ("-" for standard input)
  --out FILE        write the final leads as NDJSON (one lead state per line)
  --skip-invalid    process the valid lines; report the skipped ones
  --json            print the summary as JSON
  -h, --help        show this help

${EXIT_CODES}
`,
  explain: `Usage: leadpipe explain --config FILE --events FILE <lead> [options]

Tracks the events, then explains one lead: score by source and component, each
qualification rule with its conditions and the actual fact values, the stage
history, and what routing decides and why.

Name the lead with exactly one of:
  --lead ID                 the lead id, e.g. "u1|tour-1"
  --subject ID [--target T] the subject (and target, when leads are keyed by it)
  --anonymous ID [--target T]

Options:
  --config FILE     the leadpipe config (JSON)
  --events FILE     NDJSON events ("-" for standard input)
  --tenant ID       the tenant (default: "default")
  --at TIME         explain the score decayed to this ISO-8601 time
  --skip-invalid    process the valid lines; report the skipped ones
  --json            print the explanation as JSON
  -h, --help        show this help

${EXIT_CODES}
`,
  simulate: `Usage: leadpipe simulate --config FILE --events FILE [options]

Runs the events through the whole pipeline from an empty store and prints, per
event, its status, lead, score, stage, tier and routing, then the effects
(deliveries) that would be created. Nothing is written or sent.

Options:
  --config FILE     the leadpipe config (JSON)
  --events FILE     NDJSON events ("-" for standard input)
  --skip-invalid    simulate the valid lines; report the skipped ones
  --json            print the results as JSON
  -h, --help        show this help

${EXIT_CODES}
`,
};
