/**
 * `leadpipe run`: track an events file and summarise the leads.
 * @module
 */
import type { Config } from '../config/schema.js';
import { flag, parseCommandArgs, requireFlags, str } from './args.js';
import { help } from './check.js';
import { EXIT } from './errors.js';
import { loadEvents } from './events.js';
import { OutputFile, loadConfig, plural } from './files.js';
import type { CliContext } from './io.js';
import { formatCount, formatTable } from './table.js';
import { allLeads, createCliEngine, tenantsOf, trackAll, type TrackTotals } from './track.js';

/** Flags shared by the commands that read events. */
export const EVENT_OPTIONS = {
  config: { type: 'string' },
  events: { type: 'string' },
  'skip-invalid': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** Column name for leads without a tier. */
const NO_TIER = '(none)';

/** The summary `run` prints (as tables, or as this object with `--json`). */
export interface RunSummary {
  totals: TrackTotals & { invalidLines: number; leads: number; routes: number };
  /** Leads by stage, then by tier (`(none)` for leads without one). */
  leadsByStageAndTier: Record<string, Record<string, number>>;
  /** Routed leads by owner id. */
  routedLeadsByOwner: Record<string, number>;
  /** The file leads were written to, with `--out`. */
  out?: string;
}

/** `leadpipe run --config C --events E [--out F] [--skip-invalid] [--json]`. */
export async function runCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const args = parseCommandArgs('run', argv, { ...EVENT_OPTIONS, out: { type: 'string' } });
  if (flag(args, 'help')) return help(ctx, 'run');
  requireFlags('run', args, ['config', 'events']);
  const configPath = str(args, 'config');
  const eventsPath = str(args, 'events');
  const { config } = await loadConfig(ctx, configPath);
  const engine = createCliEngine(config, configPath as string);
  const loaded = await loadEvents(ctx, eventsPath, { skipInvalid: flag(args, 'skip-invalid') });
  const outPath = str(args, 'out');
  // Open the output before the (possibly long) run, so an unwritable path fails fast.
  const out = outPath === undefined ? undefined : await OutputFile.open(ctx, outPath, 'output file');

  let totals: TrackTotals;
  try {
    totals = await trackAll(ctx, engine, loaded.events);
  } catch (error) {
    await out?.close().catch(() => undefined);
    throw error;
  }

  const byStage = new Map<string, Map<string, number>>();
  const byOwner = new Map<string, Set<string>>();
  let leads = 0;
  let routes = 0;
  let buffer = '';
  for await (const lead of allLeads(engine, tenantsOf(loaded.events))) {
    leads++;
    routes += lead.routes.length;
    const tiers = byStage.get(lead.stage) ?? new Map<string, number>();
    byStage.set(lead.stage, tiers);
    const tier = lead.tier ?? NO_TIER;
    tiers.set(tier, (tiers.get(tier) ?? 0) + 1);
    for (const r of lead.routes) {
      const set = byOwner.get(r.ownerId) ?? new Set<string>();
      byOwner.set(r.ownerId, set);
      set.add(`${lead.tenantId}\u0000${lead.id}`);
    }
    if (out) {
      buffer += `${JSON.stringify(lead)}\n`;
      if (buffer.length > 1 << 16) {
        await out.write(buffer);
        buffer = '';
      }
    }
  }
  if (out) {
    if (buffer) await out.write(buffer);
    await out.close();
  }

  const summary: RunSummary = {
    totals: { ...totals, invalidLines: loaded.invalidLines, leads, routes },
    leadsByStageAndTier: Object.fromEntries(orderedStages(config, byStage).map((s) => [s, Object.fromEntries(byStage.get(s) ?? [])])),
    routedLeadsByOwner: Object.fromEntries(ownerRows(byOwner).map(([o, n]) => [o, n])),
    ...(outPath !== undefined ? { out: outPath } : {}),
  };
  if (flag(args, 'json')) ctx.out(JSON.stringify(summary, null, 2));
  else printSummary(ctx, config, summary, byStage);
  return EXIT.ok;
}

function printSummary(ctx: CliContext, config: Config, summary: RunSummary, byStage: Map<string, Map<string, number>>): void {
  const t = summary.totals;
  const rows: Array<[string, number]> = [
    ['events', t.events],
    ['processed', t.processed],
    ['duplicates', t.duplicates],
    ['stored only', t.stored],
    ['rejected', t.rejected],
    ...(t.invalidLines > 0 ? ([['invalid (skipped)', t.invalidLines]] as Array<[string, number]>) : []),
    ['leads', t.leads],
    ['routes', t.routes],
  ];
  ctx.out('Totals');
  for (const line of formatTable(['', 'count'], rows.map(([k, v]) => [k, formatCount(v)]), ['left', 'right']).slice(2)) ctx.out(`  ${line}`);

  ctx.out();
  ctx.out('Leads by stage × tier');
  if (t.leads === 0) ctx.out('  (no leads)');
  else {
    const tierNames = config.qualification.tiers.map((x) => x.name);
    const hasNone = [...byStage.values()].some((m) => m.has(NO_TIER));
    const columns = [...tierNames, ...(hasNone || tierNames.length === 0 ? [NO_TIER] : [])];
    const stages = orderedStages(config, byStage);
    const body = stages.map((s) => {
      const m = byStage.get(s) ?? new Map<string, number>();
      const counts = columns.map((c) => m.get(c) ?? 0);
      return [s, ...counts.map(formatCount), formatCount(counts.reduce((a, b) => a + b, 0))];
    });
    const colTotals = columns.map((c) => stages.reduce((sum, s) => sum + (byStage.get(s)?.get(c) ?? 0), 0));
    body.push(['total', ...colTotals.map(formatCount), formatCount(t.leads)]);
    const header = ['stage', ...columns, 'total'];
    for (const line of formatTable(header, body, header.map((_, i) => (i === 0 ? 'left' : 'right')))) ctx.out(`  ${line}`);
  }

  ctx.out();
  ctx.out('Routed leads by owner');
  const owners = Object.entries(summary.routedLeadsByOwner);
  if (owners.length === 0) ctx.out(config.routing ? '  (no lead was routed)' : '  (the config has no routing section)');
  else {
    const names = new Map((config.routing?.owners ?? []).map((o) => [o.id, o.name ?? '']));
    const body = owners.map(([id, n]) => [id, names.get(id) ?? '', formatCount(n)]);
    for (const line of formatTable(['owner', 'name', 'leads'], body, ['left', 'left', 'right'])) ctx.out(`  ${line}`);
  }
  if (summary.out !== undefined) {
    ctx.out();
    ctx.out(`Wrote ${plural(t.leads, 'lead')} to ${summary.out}`);
  }
}

/** Stages that hold leads: config order first, then any others (host-set) alphabetically. */
function orderedStages(config: Config, byStage: Map<string, unknown>): string[] {
  const known = config.qualification.stages.filter((s) => byStage.has(s));
  const other = [...byStage.keys()].filter((s) => !config.qualification.stages.includes(s)).sort();
  return [...known, ...other];
}

/** Owners by number of routed leads, most first, then by id. */
function ownerRows(byOwner: Map<string, Set<string>>): Array<[string, number]> {
  return [...byOwner].map(([o, s]) => [o, s.size] as [string, number]).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}
