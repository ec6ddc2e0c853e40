/**
 * Tour marketplace, scripted: a few travelers browse, bookmark and plan tours over two weeks,
 * and each (traveler, tour) pair becomes a lead for the tour's operators once it scores high
 * enough. The script shows:
 *
 * - **threshold**: views and a bookmark alone keep a lead below `routing.minScore` (50);
 * - **fan-out**: the Douro cruise has two operators, so one lead becomes two deliveries;
 * - **dedupe window**: the same lead does not reach the same operator twice within 7 days, and
 *   does again once the window has passed;
 * - **identity**: an anonymous browsing session, identified at sign-in, keeps its history;
 * - **fallback**: a tour whose only operator is paused goes to the marketplace desk;
 * - **idempotency**: an event sent twice is counted once.
 *
 * Run it: `node --conditions=@leadpipe/source --import tsx packages/examples/src/tour-marketplace/main.ts`
 * @module
 */
import { pathToFileURL } from 'node:url';
import { createEngine, ManualClock } from '@leadpipe/core';
import type { EventInput, LeadState, TrackResult } from '@leadpipe/core';
import { RecordingSink, loadConfig, localTime, table } from '../support.js';

/** What routing did with one tracked event. */
export interface TourStep {
  eventId: string;
  type: string;
  /** `processed`, `duplicate`, … (see `TrackResult.status`). */
  status: TrackResult['status'];
  leadId?: string;
  score?: number;
  tier?: string | null;
  stage?: string;
  /** Routing outcome: `routed`, `deduped`, `below-threshold`, … */
  routing?: string;
  /** Owners the lead was routed to by this event. */
  routedTo: string[];
  /** Owners skipped because they already had the lead inside the dedupe window. */
  deduped: string[];
}

/** A lead as the summary reports it. */
export interface TourLead {
  id: string;
  subjectRef: string;
  targetId?: string;
  score: number;
  tier: string | null;
  stage: string;
  counts: Record<string, number>;
  /** Score points by signal; they add up exactly to `score`. */
  sources: Record<string, number>;
  routes: Array<{ ownerId: string; at: number; rule: string }>;
}

/** What {@link main} returns: enough for a test to check every claim the script makes. */
export interface TourSummary {
  steps: TourStep[];
  /** Deliveries the sinks received (after `engine.dispatch()`), in order. */
  deliveries: Array<{ sink: string; ownerId: string; leadId: string; score: number; tier: string | null }>;
  /** Pending-or-done delivery effects in the outbox: one per (lead, owner, routing event). */
  outbox: Array<{ leadId: string; ownerId: string; sink: string }>;
  leads: Record<string, TourLead>;
}

const TIME_ZONE = 'Europe/Lisbon';
/** Monday 2 June 2025, midnight in Lisbon (UTC+1 in summer). */
const DAY_ONE = Date.parse('2025-06-02T00:00:00+01:00');
const HOUR = 3_600_000;

/** Epoch ms of `hh:mm` on day `day` (1 = Monday 2 June 2025), Lisbon time. */
function at(day: number, hh: number, mm = 0): number {
  return DAY_ONE + (day - 1) * 24 * HOUR + hh * HOUR + mm * 60_000;
}

/**
 * Runs the scripted scenario and prints an account of it.
 * @param options.quiet - print nothing (tests). @defaultValue false
 * @returns the steps, deliveries and final leads, for tests to assert on.
 */
export async function main(options: { quiet?: boolean } = {}): Promise<TourSummary> {
  const log = options.quiet ? () => {} : (line = '') => console.log(line);
  const config = loadConfig(new URL('./config.json', import.meta.url));
  const clock = new ManualClock(at(1, 9, 6));
  const operatorInbox = new RecordingSink('operator-inbox');
  const concierge = new RecordingSink('concierge');

  log('Day 1. Ana looks at the Douro river cruise (two operators run it), saves it, then plans it.');
  // #region usage
  const engine = createEngine({
    config, // parsed from config.json
    clock,
    sinks: { 'operator-inbox': operatorInbox, concierge },
  });

  const result = await engine.track({
    id: 'evt-1001',
    type: 'tour_view',
    subjectId: 'traveler-ana',
    targetId: 'tour-douro-cruise',
    occurredAt: '2025-06-02T09:05:00+01:00',
  });
  // result.status === 'processed'; result.routing?.status === 'below-threshold' (one view is not a lead yet)

  const lead = await engine.getLead({ subjectId: 'traveler-ana', targetId: 'tour-douro-cruise' });
  // lead.score (0–100), lead.tier, lead.stage, lead.breakdown.sources, lead.routes …
  // #endregion usage

  const steps: TourStep[] = [];
  const record = (input: EventInput, r: TrackResult) => {
    const l: LeadState | undefined = r.leads[0];
    const step: TourStep = {
      eventId: input.id,
      type: input.type,
      status: r.status,
      ...(l ? { leadId: l.id, score: l.score, tier: l.tier, stage: l.stage } : {}),
      ...(r.routing ? { routing: r.routing.status } : {}),
      routedTo: r.routing?.routes.map((x) => x.ownerId) ?? [],
      deduped: r.routing?.skipped.filter((s) => s.reason === 'deduped').map((s) => s.ownerId) ?? [],
    };
    steps.push(step);
    const who = input.subjectId ?? `anonymous ${input.anonymousId}`;
    const when = localTime(typeof input.occurredAt === 'number' ? input.occurredAt : Date.parse(input.occurredAt), TIME_ZONE);
    let outcome = step.status === 'duplicate' ? 'duplicate id: ignored' : `score ${step.score?.toFixed(2)} ${step.tier ?? '-'}/${step.stage}`;
    if (step.routedTo.length > 0) outcome += ` → routed to ${step.routedTo.join(' + ')}`;
    else if (step.deduped.length > 0) outcome += ` → not re-sent to ${step.deduped.join(', ')} (dedupe window)`;
    else if (step.routing && step.status === 'processed') outcome += ` → ${step.routing}`;
    log(`  ${when}  ${who.padEnd(22)} ${input.type.padEnd(14)} ${(input.targetId ?? '').padEnd(19)} ${outcome}`);
  };
  record({ id: 'evt-1001', type: 'tour_view', subjectId: 'traveler-ana', targetId: 'tour-douro-cruise', occurredAt: at(1, 9, 5) }, result);
  if (lead) log(`    (getLead: ${lead.id} scores ${lead.score}, stage "${lead.stage}")`);

  /** Tracks one event with the clock a second after it happened, and records the outcome. */
  const send = async (id: string, type: string, who: { subjectId?: string; anonymousId?: string }, targetId: string, occurredAt: number) => {
    clock.set(occurredAt + 1000);
    const input: EventInput = { id, type, ...who, targetId, occurredAt };
    record(input, await engine.track(input));
  };
  const ana = { subjectId: 'traveler-ana' };
  const ben = { subjectId: 'traveler-ben' };
  const dev = { subjectId: 'traveler-dev' };

  await send('evt-1002', 'tour_view', ana, 'tour-douro-cruise', at(1, 9, 12));
  await send('evt-1003', 'tour_bookmark', ana, 'tour-douro-cruise', at(1, 9, 30));
  await send('evt-1004', 'itinerary_add', ana, 'tour-douro-cruise', at(1, 20, 15));

  log('\nDay 2. Ben browses the Sintra day trip and bookmarks it: warm, but under the threshold of 50.');
  await send('evt-2001', 'tour_view', ben, 'tour-sintra-day', at(2, 11, 0));
  await send('evt-2002', 'tour_view', ben, 'tour-sintra-day', at(2, 11, 20));
  await send('evt-2003', 'tour_bookmark', ben, 'tour-sintra-day', at(2, 11, 25));

  log('\nDay 3. Ana asks a question: both operators already have her lead from day 1, so nothing is re-sent.');
  await send('evt-1005', 'inquiry', ana, 'tour-douro-cruise', at(3, 10, 0));
  log('       The app retries the same event (same id): counted once.');
  await send('evt-1005', 'inquiry', ana, 'tour-douro-cruise', at(3, 10, 0));

  log('\nDay 4–5. A visitor browses the Lisbon food tour without an account, then signs in as Chloe.');
  const device = { anonymousId: 'device-7f3a' };
  await send('evt-3001', 'tour_view', device, 'tour-lisbon-food', at(4, 21, 0));
  await send('evt-3002', 'tour_view', device, 'tour-lisbon-food', at(4, 21, 3));
  await send('evt-3003', 'tour_view', device, 'tour-lisbon-food', at(4, 21, 10));
  await send('evt-3004', 'tour_bookmark', device, 'tour-lisbon-food', at(4, 21, 20));
  clock.set(at(5, 8, 0));
  const identified = await engine.identify({ anonymousId: 'device-7f3a', subjectId: 'traveler-chloe', traits: { country: 'CA', partySize: 2 } });
  log(`  identify(device-7f3a → traveler-chloe): her lead ${identified.leads.map((l) => l.id).join(', ')} keeps ${identified.leads[0]?.counts.tour_view ?? 0} views and the bookmark`);
  await send('evt-3005', 'itinerary_add', { subjectId: 'traveler-chloe' }, 'tour-lisbon-food', at(5, 8, 5));

  log('\nDay 6. Dev plans a tour whose only operator has paused its listings: the marketplace desk takes it.');
  await send('evt-4001', 'tour_view', dev, 'tour-evora-history', at(6, 14, 0));
  await send('evt-4002', 'itinerary_add', dev, 'tour-evora-history', at(6, 14, 10));
  await send('evt-4003', 'inquiry', dev, 'tour-evora-history', at(6, 14, 30));

  log('\nDay 12. Ana comes back to the cruise: the 7-day dedupe window has passed, so her next visit reaches both operators again.');
  await send('evt-1006', 'tour_view', ana, 'tour-douro-cruise', at(12, 18, 30));
  await send('evt-1007', 'itinerary_add', ana, 'tour-douro-cruise', at(12, 18, 40));

  // Hand the outbox to the sinks (in production a worker loop does this).
  clock.set(at(12, 19, 0));
  while ((await engine.dispatch()).claimed > 0);

  const outbox = (await engine.store.listEffects('default')).flatMap((e) =>
    e.effect.kind === 'delivery' ? [{ leadId: e.effect.leadId, ownerId: e.effect.ownerId, sink: e.effect.sink }] : [],
  );
  const deliveries = [operatorInbox, concierge].flatMap((sink) =>
    sink.received.map((d) => ({ sink: sink.name, ownerId: d.ownerId, leadId: d.lead.id, score: d.lead.score, tier: d.lead.tier })),
  );
  const leads: Record<string, TourLead> = {};
  for (const l of (await engine.store.listLeads('default', { limit: 1000 })).leads) {
    leads[l.id] = {
      id: l.id,
      subjectRef: l.subjectRef,
      ...(l.targetId !== undefined ? { targetId: l.targetId } : {}),
      score: l.score,
      tier: l.tier,
      stage: l.stage,
      counts: l.counts,
      sources: l.breakdown.sources,
      routes: l.routes.map((r) => ({ ownerId: r.ownerId, at: r.at, rule: r.rule })),
    };
  }

  log('\nDeliveries');
  log(table([['sink', 'owner', 'lead', 'score', 'tier'], ...deliveries.map((d) => [d.sink, d.ownerId, d.leadId, d.score.toFixed(2), d.tier ?? '-'])]));
  log('\nLeads');
  log(
    table([
      ['lead', 'score', 'tier', 'stage', 'routes', 'points by signal'],
      ...Object.values(leads).map((l) => [
        l.id,
        l.score.toFixed(2),
        l.tier ?? '-',
        l.stage,
        String(l.routes.length),
        Object.entries(l.sources)
          .map(([s, p]) => `${s} ${p}`)
          .join(', '),
      ]),
    ]),
  );
  return { steps, deliveries, outbox, leads };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
