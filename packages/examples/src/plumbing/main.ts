/**
 * Local trade (a plumbing business in Chicago), scripted: anonymous web sessions are scored as
 * they happen, and the time of day matters. The script shows:
 *
 * - **after-hours and weekend modifiers**, evaluated in the business's time zone
 *   (`America/Chicago`): the same clicks score more at night and at weekends;
 * - **three tiers**: `emergency` (set by a rule when an emergency signal comes in after hours, or
 *   by a score of 80+), `standard` and `low`;
 * - **routing by tier**: an emergency pages the owner while she is on call (06:00–23:00); at
 *   night the fallback, an answering service, takes it; a standard lead is an email to the sales
 *   inbox; a low lead is not routed (`minScore` 35);
 * - **identity**: a session that fills in the quote form is identified with a zip code and the
 *   service wanted; its history follows it and the profile adds fit points.
 *
 * Run it: `node --conditions=@leadpipe/source --import tsx packages/examples/src/plumbing/main.ts`
 * @module
 */
import { pathToFileURL } from 'node:url';
import { createEngine, ManualClock } from '@leadpipe/core';
import type { EventInput, TrackResult } from '@leadpipe/core';
import { RecordingSink, loadConfig, localTime, table } from '../support.js';

/** What one tracked event did. */
export interface PlumbingStep {
  eventId: string;
  type: string;
  status: TrackResult['status'];
  leadId?: string;
  score?: number;
  tier?: string | null;
  /** Routing outcome: `routed`, `deduped`, `below-threshold`, … */
  routing?: string;
  /** The routing rule that decided, or `fallback`. */
  rule?: string;
  routedTo: string[];
}

/** A lead as the summary reports it. */
export interface PlumbingLead {
  id: string;
  score: number;
  tier: string | null;
  stage: string;
  counts: Record<string, number>;
  /** Score points by source (signal, or `fit:<rule>`); they add up exactly to `score`. */
  sources: Record<string, number>;
  routes: Array<{ ownerId: string; rule: string; at: number }>;
}

/** What {@link main} returns, for tests. */
export interface PlumbingSummary {
  steps: PlumbingStep[];
  /** What the pager and email sinks received after `engine.dispatch()`, in order. */
  deliveries: Array<{ sink: string; ownerId: string; leadId: string; score: number; tier: string | null }>;
  leads: Record<string, PlumbingLead>;
  /** Lead ids `identify` produced for the quote-form session. */
  identifiedLeads: string[];
}

const TIME_ZONE = 'America/Chicago';

/** Epoch ms of a local Chicago time in April 2025 (CDT, UTC−5): `chicago(8, '10:15')` is Tue 8 April. */
function chicago(day: number, hhmm: string): number {
  return Date.parse(`2025-04-${String(day).padStart(2, '0')}T${hhmm}:00-05:00`);
}

/**
 * Runs the scripted scenario and prints an account of it.
 * @param options.quiet - print nothing (tests). @defaultValue false
 */
export async function main(options: { quiet?: boolean } = {}): Promise<PlumbingSummary> {
  const log = options.quiet ? () => {} : (line = '') => console.log(line);
  const config = loadConfig(new URL('./config.json', import.meta.url));
  const clock = new ManualClock(chicago(7, '00:00'));
  const pager = new RecordingSink('pager');
  const email = new RecordingSink('email');
  const engine = createEngine({ config, clock, sinks: { pager, email } });

  const steps: PlumbingStep[] = [];
  /** Tracks one event a second after it happened, delivers what it routed, and logs the outcome. */
  const send = async (id: string, type: string, who: { anonymousId?: string; subjectId?: string }, occurredAt: number, properties?: Record<string, unknown>) => {
    clock.set(occurredAt + 1000);
    const input: EventInput = { id, type, ...who, occurredAt, channel: 'web', ...(properties ? { properties } : {}) };
    const r = await engine.track(input);
    const lead = r.leads[0];
    const step: PlumbingStep = {
      eventId: id,
      type,
      status: r.status,
      ...(lead ? { leadId: lead.id, score: lead.score, tier: lead.tier } : {}),
      ...(r.routing ? { routing: r.routing.status } : {}),
      ...(r.routing?.rule ? { rule: r.routing.rule } : {}),
      routedTo: r.routing?.routes.map((x) => x.ownerId) ?? [],
    };
    steps.push(step);
    // Emergencies must go out within seconds: deliver right away rather than on a timer.
    while ((await engine.dispatch()).claimed > 0);
    let outcome = `score ${step.score?.toFixed(2)} ${step.tier ?? '-'}`;
    outcome += step.routedTo.length > 0 ? ` → ${step.routedTo.join(', ')} (${step.rule})` : ` → ${step.routing}`;
    log(`  ${localTime(occurredAt, TIME_ZONE)}  ${(who.subjectId ?? who.anonymousId ?? '').padEnd(12)} ${type.padEnd(20)} ${outcome}`);
  };

  log('Tuesday morning, office open: a visitor reads about water heaters and asks for a quote.');
  const heater = { anonymousId: 'sess-heater' };
  await send('w-101', 'page_view', heater, chicago(8, '10:15'));
  await send('w-102', 'page_view', heater, chicago(8, '10:17'));
  await send('w-103', 'page_view', heater, chicago(8, '10:20'));
  await send('w-104', 'form_start', heater, chicago(8, '10:22'));
  await send('w-105', 'form_submit', heater, chicago(8, '10:26'), { service: 'water-heater', urgency: 'this-week' });
  // The form carried a zip code and a service: identify the session, so its history follows the person.
  clock.set(chicago(8, '10:26') + 2000);
  const identified = await engine.identify({ anonymousId: 'sess-heater', subjectId: 'cust-1042', traits: { zip: '60614', service: 'water-heater' } });
  while ((await engine.dispatch()).claimed > 0);
  for (const l of identified.leads) {
    log(`  identify(sess-heater → cust-1042): lead "${l.id}" keeps ${l.counts.page_view ?? 0} page views and the form; fit adds points → ${l.score.toFixed(2)} ${l.tier}`);
  }

  log('\nWednesday 02:30, office closed, owner off call: a burst pipe.');
  const night = { anonymousId: 'sess-night' };
  await send('w-201', 'emergency_page_view', night, chicago(9, '02:30'));
  await send('w-202', 'phone_click', night, chicago(9, '02:31'));

  log('\nThursday afternoon: someone reads two pages and leaves.');
  const browse = { anonymousId: 'sess-browse' };
  await send('w-301', 'page_view', browse, chicago(10, '14:00'));
  await send('w-302', 'page_view', browse, chicago(10, '14:04'));

  log('\nThursday afternoon, office open: an emergency page and a call — urgent, but the office is there to answer.');
  const day = { anonymousId: 'sess-day' };
  await send('w-351', 'emergency_page_view', day, chicago(10, '15:10'));
  await send('w-352', 'phone_click', day, chicago(10, '15:11'));

  log('\nSaturday 21:40, weekend evening: no hot water. The owner is on call until 23:00.');
  const burst = { anonymousId: 'sess-burst' };
  await send('w-401', 'emergency_page_view', burst, chicago(12, '21:40'));
  await send('w-402', 'phone_click', burst, chicago(12, '21:42'));

  const deliveries = [pager, email].flatMap((sink) =>
    sink.received.map((d) => ({ sink: sink.name, ownerId: d.ownerId, leadId: d.lead.id, score: d.lead.score, tier: d.lead.tier })),
  );
  const leads: Record<string, PlumbingLead> = {};
  for (const l of (await engine.store.listLeads('default', { limit: 1000 })).leads) {
    leads[l.id] = {
      id: l.id,
      score: l.score,
      tier: l.tier,
      stage: l.stage,
      counts: l.counts,
      sources: l.breakdown.sources,
      routes: l.routes.map((r) => ({ ownerId: r.ownerId, rule: r.rule, at: r.at })),
    };
  }

  log('\nDeliveries (pager = SMS and email to the owner or the answering service; email = sales inbox)');
  log(table([['sink', 'owner', 'lead', 'score', 'tier'], ...deliveries.map((d) => [d.sink, d.ownerId, d.leadId, d.score.toFixed(2), d.tier ?? '-'])]));
  log('\nLeads');
  log(
    table([
      ['lead', 'score', 'tier', 'stage', 'points by source'],
      ...Object.values(leads).map((l) => [
        l.id,
        l.score.toFixed(2),
        l.tier ?? '-',
        l.stage,
        Object.entries(l.sources)
          .map(([s, p]) => `${s} ${p}`)
          .join(', '),
      ]),
    ]),
  );
  return { steps, deliveries, leads, identifiedLeads: identified.leads.map((l) => l.id) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
