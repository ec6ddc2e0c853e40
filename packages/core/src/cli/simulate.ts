/**
 * `leadpipe simulate`: a dry run of the events from an empty store.
 * @module
 */
import type { TrackResult } from '../engine.js';
import type { Effect } from '../types.js';
import { flag, parseCommandArgs, requireFlags, str } from './args.js';
import { help } from './check.js';
import { EXIT } from './errors.js';
import { loadEvents } from './events.js';
import { loadConfig, plural } from './files.js';
import type { CliContext } from './io.js';
import { EVENT_OPTIONS } from './run.js';
import { formatTable } from './table.js';
import { createCliEngine } from './track.js';

/** `leadpipe simulate --config C --events E [--skip-invalid] [--json]`. */
export async function simulateCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const args = parseCommandArgs('simulate', argv, EVENT_OPTIONS);
  if (flag(args, 'help')) return help(ctx, 'simulate');
  requireFlags('simulate', args, ['config', 'events']);
  const configPath = str(args, 'config');
  const { config } = await loadConfig(ctx, configPath);
  const engine = createCliEngine(config, configPath as string);
  const loaded = await loadEvents(ctx, str(args, 'events'), { skipInvalid: flag(args, 'skip-invalid') });
  const simulation = await engine.simulate(
    loaded.events.map((e) => e.event),
    { from: 'empty' },
  );
  const results = simulation.results.map((r, i) => ({ line: loaded.events[i]?.line ?? 0, ...r }));

  if (flag(args, 'json')) {
    ctx.out(JSON.stringify({ results, leads: simulation.leads, effects: simulation.effects, events: simulation.events }, null, 2));
    return EXIT.ok;
  }

  ctx.out(`Simulated ${plural(results.length, 'event')} from an empty store; nothing was written or sent.`);
  ctx.out();
  const rows = results.map((r) => resultRow(r));
  for (const line of formatTable(['line', 'event', 'status', 'lead', 'score', 'stage', 'tier', 'routing'], rows, ['right', 'left', 'left', 'left', 'right'])) {
    ctx.out(line);
  }
  ctx.out();
  ctx.out(`Effects that would be created: ${simulation.effects.length}`);
  if (simulation.effects.length > 0) {
    const body = simulation.effects.map((e) => effectRow(e));
    for (const line of formatTable(['kind', 'owner', 'lead', 'via', 'id'], body)) ctx.out(`  ${line}`);
  }
  return EXIT.ok;
}

function resultRow(r: TrackResult & { line: number }): string[] {
  const lead = r.leads[0];
  const status = r.status === 'rejected' && r.reason ? `rejected (${r.reason})` : r.replayed ? 'processed (replayed)' : r.status;
  const routing = r.routing ? (r.routing.status === 'routed' ? `routed → ${r.routing.routes.map((x) => x.ownerId).join(', ')}` : r.routing.status) : '';
  return [String(r.line), r.eventId, status, lead?.id ?? '', lead ? lead.score.toFixed(2) : '', lead?.stage ?? '', lead ? (lead.tier ?? '(none)') : '', routing];
}

function effectRow(e: Effect): string[] {
  return [e.kind, e.ownerId, e.leadId, e.kind === 'delivery' ? `sink ${e.sink}` : `${e.channel}/${e.template}`, e.id];
}
