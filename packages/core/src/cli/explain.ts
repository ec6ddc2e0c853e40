/**
 * `leadpipe explain`: track the events, then explain one lead.
 * @module
 */
import type { Explanation, LeadRef } from '../engine.js';
import { isLeadpipeError } from '../errors.js';
import type { RoutingDecision, SkipReason } from '../pipeline/route.js';
import type { ConditionResult } from '../rules/types.js';
import { DEFAULT_TENANT } from '../types.js';
import { flag, parseCommandArgs, requireFlags, str, type ParsedArgs } from './args.js';
import { help } from './check.js';
import { EXIT, InvalidInputError, UsageError } from './errors.js';
import { loadEvents } from './events.js';
import { loadConfig } from './files.js';
import type { CliContext } from './io.js';
import { EVENT_OPTIONS } from './run.js';
import { formatTable } from './table.js';
import { createCliEngine, trackAll } from './track.js';

/** How many existing lead ids an "unknown lead" message lists. */
const SUGGESTIONS = 5;

/** `leadpipe explain --config C --events E (--lead ID | --subject S | --anonymous A) [--target T] [--tenant T] [--at ISO] [--json]`. */
export async function explainCommand(ctx: CliContext, argv: string[]): Promise<number> {
  const args = parseCommandArgs('explain', argv, {
    ...EVENT_OPTIONS,
    lead: { type: 'string' },
    subject: { type: 'string' },
    anonymous: { type: 'string' },
    target: { type: 'string' },
    tenant: { type: 'string' },
    at: { type: 'string' },
  });
  if (flag(args, 'help')) return help(ctx, 'explain');
  requireFlags('explain', args, ['config', 'events']);
  const ref = leadRef(args);
  const at = parseAt(str(args, 'at'));
  const configPath = str(args, 'config');
  const { config } = await loadConfig(ctx, configPath);
  const engine = createCliEngine(config, configPath as string);
  const loaded = await loadEvents(ctx, str(args, 'events'), { skipInvalid: flag(args, 'skip-invalid') });
  await trackAll(ctx, engine, loaded.events);

  let explanation: Explanation;
  try {
    explanation = await engine.explain(ref, at === undefined ? {} : { at });
  } catch (error) {
    if (isLeadpipeError(error, 'EVENT_INVALID')) {
      // The ref does not name a lead under this config's lead key (a target is missing).
      const by = ref.subjectId !== undefined ? '--subject' : '--anonymous';
      throw new UsageError(`${by} needs --target here: this config keys leads by subject and target (leadKey ["subjectId", "targetId"])`, `e.g. ${by} ${ref.subjectId ?? ref.anonymousId ?? 'ID'} --target tour-1, or name the lead with --lead.`);
    }
    if (isLeadpipeError(error, 'NOT_FOUND')) {
      const tenantId = ref.tenantId ?? DEFAULT_TENANT;
      const page = await engine.store.listLeads(tenantId, { limit: SUGGESTIONS + 1 });
      const ids = page.leads.slice(0, SUGGESTIONS).map((l) => `  ${l.id}`);
      const more = page.leads.length > SUGGESTIONS || page.next !== undefined ? ['  ...'] : [];
      throw new InvalidInputError([
        `leadpipe: no lead "${engine.leadId(ref)}" in tenant "${tenantId}" after tracking ${loaded.events.length} event(s).`,
        ...(ids.length > 0 ? ['Existing leads include:', ...ids, ...more, 'Pass one of them with --lead, or check --subject / --target / --tenant.'] : [`Tenant "${tenantId}" has no leads: check --tenant and the events file.`]),
      ]);
    }
    throw error;
  }
  if (flag(args, 'json')) ctx.out(JSON.stringify(explanation, null, 2));
  else printExplanation(ctx, explanation, { minScore: config.routing?.minScore });
  return EXIT.ok;
}

function leadRef(args: ParsedArgs): LeadRef {
  const lead = str(args, 'lead');
  const subject = str(args, 'subject');
  const anonymous = str(args, 'anonymous');
  const target = str(args, 'target');
  const tenant = str(args, 'tenant');
  const given = [lead !== undefined && '--lead', subject !== undefined && '--subject', anonymous !== undefined && '--anonymous'].filter(Boolean);
  if (given.length === 0) throw new UsageError('missing lead: name it with --lead ID, --subject ID or --anonymous ID', 'e.g. --lead "u1|tour-1", or --subject u1 --target tour-1');
  if (given.length > 1) throw new UsageError(`name the lead one way only: got ${given.join(' and ')}`, 'Pass exactly one of --lead, --subject, --anonymous.');
  if (lead !== undefined && target !== undefined) throw new UsageError('--target goes with --subject or --anonymous; a --lead id already includes the target');
  return {
    ...(tenant !== undefined ? { tenantId: tenant } : {}),
    ...(lead !== undefined ? { leadId: lead } : {}),
    ...(subject !== undefined ? { subjectId: subject } : {}),
    ...(anonymous !== undefined ? { anonymousId: anonymous } : {}),
    ...(target !== undefined ? { targetId: target } : {}),
  };
}

function parseAt(at: string | undefined): string | number | undefined {
  if (at === undefined) return undefined;
  if (/^\d+$/.test(at)) return Number(at);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(at) || Number.isNaN(Date.parse(at))) {
    throw new UsageError(`--at "${at}" is not a time: use ISO-8601 such as 2026-03-01T12:00:00Z, or epoch milliseconds`);
  }
  return at;
}

const iso = (ms: number) => new Date(ms).toISOString();
const fixed = (n: number) => n.toFixed(2);
const mark = (ok: boolean) => (ok ? '✓' : '✗');

/** Prints an explanation as indented text. */
export function printExplanation(ctx: CliContext, x: Explanation, options: { minScore?: number } = {}): void {
  const lead = x.lead;
  const out = (line = '') => ctx.out(line);
  out(`Lead ${lead.id} (tenant ${lead.tenantId})`);
  out(`  subject ${lead.subjectRef}${lead.targetId !== undefined ? `, target ${lead.targetId}` : ''}`);
  out(`  stage ${lead.stage}, tier ${lead.tier ?? '(none)'}`);
  const counts = Object.entries(lead.counts).map(([s, n]) => `${s} ${n}`);
  out(`  first seen ${iso(lead.firstSeenAt)}, last seen ${iso(lead.lastSeenAt)}`);
  out(`  events by signal: ${counts.join(', ') || '(none)'}`);

  out();
  out(`Score ${fixed(x.score.value)} (as of ${iso(x.at)})`);
  const sources = Object.entries(x.score.breakdown.sources).sort((a, b) => b[1] - a[1]);
  if (sources.length > 0) {
    for (const line of formatTable(['source', 'points'], sources.map(([s, p]) => [s, fixed(p)]), ['left', 'right'])) out(`  ${line}`);
  }
  out();
  const components = Object.keys({ ...x.score.components, ...x.score.breakdown.components });
  const rows = components.map((c) => [c, fixed(x.score.breakdown.components[c] ?? 0), fixed(x.score.components[c] ?? 0)]);
  for (const line of formatTable(['component', 'points', 'normalised (0-100)'], rows, ['left', 'right', 'right'])) out(`  ${line}`);

  out();
  out('Qualification rules (in evaluation order)');
  if (x.rules.length === 0) out('  (the config has no qualification rules; the tier comes from the score bands)');
  for (const rule of x.rules) {
    const sets = [rule.stage !== undefined ? `stage ${rule.stage}` : '', rule.tier !== undefined ? `tier ${rule.tier}` : ''].filter(Boolean).join(', ');
    out(`  ${mark(rule.result)} ${rule.name} (priority ${rule.priority}) → ${sets}`);
    if (rule.conditions === null) out('      (no conditions: always holds)');
    else for (const line of conditionLines(rule.conditions, 6)) out(line);
  }

  out();
  out('Stage history');
  if (x.stageHistory.length === 0) out('  (none)');
  else {
    const body = x.stageHistory.map((t) => [iso(t.at), t.from ?? '(start)', t.to, t.cause, t.eventId ?? '']);
    for (const line of formatTable(['at', 'from', 'to', 'cause', 'event'], body)) out(`  ${line}`);
  }

  out();
  out('Routing');
  for (const line of routingLines(x.routing.decision, x.score.value, options.minScore)) out(`  ${line}`);
  if (x.routing.routes.length > 0) {
    out('  routes taken:');
    const body = x.routing.routes.map((r) => [r.ownerId, iso(r.at), r.rule, r.pick, r.eventId]);
    for (const line of formatTable(['owner', 'at', 'rule', 'pick', 'event'], body)) out(`    ${line}`);
  } else out('  routes taken: none');
}

/** A condition tree as indented lines: groups with their result, leaves with fact, path, operator, expected and actual values. */
export function conditionLines(c: ConditionResult, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if ('all' in c) return [`${pad}${mark(c.result)} all of:`, ...c.all.flatMap((x) => conditionLines(x, indent + 2))];
  if ('any' in c) return [`${pad}${mark(c.result)} any of:`, ...c.any.flatMap((x) => conditionLines(x, indent + 2))];
  if ('not' in c) return [`${pad}${mark(c.result)} not:`, ...conditionLines(c.not, indent + 2)];
  if ('condition' in c) return [`${pad}${mark(c.result)} condition "${c.condition}":`, ...(c.resolved ? conditionLines(c.resolved, indent + 2) : [])];
  const isFactRef = typeof c.value === 'object' && c.value !== null && 'fact' in c.value;
  const expected = isFactRef ? `${show(c.value)} = ${show(c.valueResult)}` : show(c.value);
  return [`${pad}${mark(c.result)} ${c.fact}${c.path !== undefined ? ` ${c.path}` : ''} ${c.operator} ${expected}  (actual: ${show(c.factResult)})`];
}

function show(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const SKIP_REASONS: Record<SkipReason, string> = {
  inactive: 'inactive (owner.active is false)',
  unavailable: 'outside the owner’s availability hours',
  'at-capacity': 'at capacity (open leads reached owner.capacity)',
  deduped: 'already received this lead inside the dedupe window',
  'not-matched': 'did not match the rule’s "where" conditions',
};

/** Why routing decides what it does, in words. */
export function routingLines(d: RoutingDecision, score: number, minScore?: number): string[] {
  const lines: string[] = [];
  const owners = d.routes.map((r) => r.ownerId).join(', ');
  switch (d.status) {
    case 'routed':
      lines.push(`decision now: route to ${owners} by rule "${d.rule ?? '?'}"${d.sink ? ` (sink ${d.sink})` : ''}`);
      break;
    case 'deduped':
      lines.push(`decision now: no new route: every candidate owner of rule "${d.rule ?? '?'}" already received this lead inside the dedupe window`);
      break;
    case 'below-threshold':
      lines.push(`decision now: not routed: score ${fixed(score)} is below routing.minScore${minScore !== undefined ? ` (${minScore})` : ''}`);
      break;
    case 'closed':
      lines.push('decision now: not routed: the lead is in a closed stage (routing.closedStages)');
      break;
    case 'no-route':
      lines.push('decision now: not routed: no routing rule (nor the fallback) found an available owner');
      break;
    case 'not-configured':
      lines.push('decision now: not routed: the config has no routing section');
      break;
  }
  if (d.skipped.length > 0) {
    lines.push('skipped owners:');
    for (const s of d.skipped) lines.push(`  ${s.ownerId}: ${SKIP_REASONS[s.reason] ?? s.reason} (rule ${s.rule})`);
  }
  return lines;
}
