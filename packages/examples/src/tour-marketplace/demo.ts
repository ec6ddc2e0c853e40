/**
 * `pnpm demo`: the tour marketplace at scale. A seeded generator produces two months of traveler
 * activity (100,000 events by default: ~5,000 travelers, 300 tours, 40 operators, some tours run
 * by two operators), with the mess real traffic has: anonymous sessions identified later,
 * retried events (duplicate ids) and a few events that arrive hours late. The events go through
 * the engine (memory store, `trackMany` in chunks), and the program prints throughput, leads by
 * stage and tier, routed leads by operator, and a verification block that checks two invariants
 * and exits non-zero if either fails:
 *
 * 1. every lead's score breakdown adds up exactly (in hundredths) to its score;
 * 2. no lead was routed to the same operator twice inside the dedupe window.
 *
 * Same seed, same events, same leads: the run is fully deterministic except for its timing.
 * @module
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createEngine, ManualClock, parseConfig, parseDuration } from '@leadpipe/core';
import type { ConfigInput, DeliveryEffect, EventInput, LeadState, TrackResult } from '@leadpipe/core';
import { table } from '../support.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Events to generate (before duplicates are added). @defaultValue 100_000 */
  events?: number;
  /** PRNG seed: the same seed gives the same events and the same leads. @defaultValue 42 */
  seed?: number;
  /** Print nothing. @defaultValue false */
  quiet?: boolean;
}

/** One invariant check and its outcome. */
export interface DemoCheck {
  name: string;
  /** How many things were checked (leads, or routes). */
  checked: number;
  /** Ids of what failed, at most 20. */
  failures: string[];
  ok: boolean;
  /** A failed required check makes the demo exit non-zero; an advisory one is printed as a warning. */
  required: boolean;
}

/** What {@link runDemo} measured and checked. */
export interface DemoSummary {
  seed: number;
  /** The generated world. */
  world: { travelers: number; tours: number; sharedTours: number; operators: number; pausedOperators: number };
  /** The generated stream: events by type, how many were sent twice or late, identify calls. */
  stream: { events: number; byType: Record<string, number>; duplicatesSent: number; lateSent: number; identifyCalls: number };
  /** What the engine reported for each call. */
  results: { processed: number; duplicate: number; stored: number; rejected: number; replayed: number };
  elapsedMs: number;
  eventsPerSecond: number;
  leads: number;
  byStage: Record<string, number>;
  byTier: Record<string, number>;
  /** Leads with at least one route. */
  routedLeads: number;
  /** Leads one event routed to two or more owners at once (tours run by two operators). */
  fanOutLeads: number;
  /** Routes (lead → owner) by owner id. */
  routesByOwner: Record<string, number>;
  /** Delivery effects written to the outbox. */
  deliveries: number;
  checks: DemoCheck[];
  ok: boolean;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** The generated activity starts here (a Tuesday) and runs for {@link DAYS} days. */
const START = Date.parse('2025-04-01T00:00:00Z');
const DAYS = 60;

/** mulberry32: a tiny, fast, seedable PRNG (32-bit state). Returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One thing to feed the engine, in arrival order: an event, or an identify call at sign-in. */
type Item = { arrival: number; seq: number } & ({ kind: 'event'; event: EventInput & { occurredAt: number } } | { kind: 'identify'; anonymousId: string; subjectId: string; traits: Record<string, unknown> });

/** A generated marketplace: tours, their popularity and their operators (shared with the benchmark). */
export interface World {
  tours: string[];
  /** Cumulative popularity weights of `tours`, for sampling. */
  cumulative: number[];
  operators: Array<{ id: string; name: string; active: boolean; targets: string[] }>;
  sharedTours: number;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Tours with a long-tail popularity, and operators; about one tour in eight has a second operator. */
export function buildWorld(rng: () => number, tourCount: number, operatorCount: number): World {
  const tours = Array.from({ length: tourCount }, (_, i) => `tour-${pad(i + 1, 4)}`);
  const cumulative: number[] = [];
  let total = 0;
  for (let i = 0; i < tourCount; i++) cumulative.push((total += 1 / (i + 1) ** 0.8));
  const operators = Array.from({ length: operatorCount }, (_, i) => ({
    id: `op-${pad(i + 1, 2)}`,
    name: `Operator ${i + 1}`,
    // Two operators have paused their listings: their tours go to the fallback desk.
    active: i % 20 !== 19,
    targets: [] as string[],
  }));
  let sharedTours = 0;
  tours.forEach((tour, i) => {
    const first = i % operatorCount;
    (operators[first] as World['operators'][number]).targets.push(tour);
    if (rng() < 0.12) {
      const second = (first + 1 + Math.floor(rng() * (operatorCount - 1))) % operatorCount;
      (operators[second] as World['operators'][number]).targets.push(tour);
      sharedTours++;
    }
  });
  return { tours, cumulative: cumulative.map((c) => c / total), operators, sharedTours };
}

function pickTour(world: World, rng: () => number): string {
  const x = rng();
  let lo = 0;
  let hi = world.cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((world.cumulative[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return world.tours[lo] as string;
}

/** A local-daytime-ish moment on `day` (people browse 07:00–24:00 UTC here, evenings most). */
function browseTime(rng: () => number, day: number): number {
  const hour = 7 + Math.floor(17 * Math.sqrt(rng()));
  return START + day * DAY + hour * HOUR + Math.floor(rng() * 60) * MINUTE;
}

/**
 * Generates the stream. Each traveler has an active period and a few tours they are interested
 * in; each (traveler, tour) interest is a small story: views over one to three sessions, then
 * maybe a bookmark, maybe an itinerary add, maybe an inquiry. About 30% of travelers browse
 * anonymously first; most of them sign in partway (an identify call), some never do.
 */
function generate(rng: () => number, world: World, target: number, travelerCount: number) {
  const items: Item[] = [];
  const byType: Record<string, number> = { tour_view: 0, tour_bookmark: 0, itinerary_add: 0, inquiry: 0 };
  let seq = 0;
  let count = 0;
  let identifyCalls = 0;
  const travelers = Array.from({ length: travelerCount }, (_, i) => {
    const start = Math.floor(rng() * (DAYS - 2));
    const anonymous = rng() < 0.3;
    return {
      id: `traveler-${pad(i + 1, 5)}`,
      device: anonymous ? `device-${pad(i + 1, 5)}` : undefined,
      start,
      span: 1 + Math.floor(rng() * 12),
      // Sign-in time for anonymous travelers (a quarter never sign in).
      signIn: anonymous && rng() < 0.75 ? START + (start + rng() * 8) * DAY : Number.POSITIVE_INFINITY,
      signedIn: false,
    };
  });
  const push = (t: (typeof travelers)[number], type: string, tour: string, occurredAt: number) => {
    if (count >= target || occurredAt >= START + DAYS * DAY) return;
    count++;
    byType[type] = (byType[type] ?? 0) + 1;
    const id = `evt-${pad(count, 7)}`;
    const who = occurredAt < t.signIn && t.device ? { anonymousId: t.device } : { subjectId: t.id };
    items.push({ kind: 'event', arrival: occurredAt + 500 + Math.floor(rng() * 2000), seq: seq++, event: { id, type, ...who, targetId: tour, occurredAt } });
    if (who.subjectId && t.device && !t.signedIn) {
      // First event after sign-in: the app calls identify at the sign-in moment.
      t.signedIn = true;
      identifyCalls++;
      items.push({ kind: 'identify', arrival: t.signIn, seq: seq++, anonymousId: t.device, subjectId: t.id, traits: { homeCountry: ['PT', 'ES', 'FR', 'DE', 'GB', 'US', 'CA', 'BR'][Math.floor(rng() * 8)] } });
    }
  };

  while (count < target) {
    const t = travelers[Math.floor(rng() * travelers.length)] as (typeof travelers)[number];
    const tour = pickTour(world, rng);
    let time = browseTime(rng, t.start + Math.floor(rng() * t.span));
    const sessions = 1 + (rng() < 0.35 ? 1 : 0) + (rng() < 0.15 ? 1 : 0);
    for (let s = 0; s < sessions; s++) {
      const views = 1 + Math.floor(-Math.log(1 - rng()) * 1.2);
      for (let v = 0; v < views; v++) {
        push(t, 'tour_view', tour, time);
        time += (1 + Math.floor(rng() * 8)) * MINUTE;
      }
      if (s === sessions - 1) break;
      time += Math.floor((0.5 + rng() * 3) * DAY);
    }
    if (rng() < 0.2) {
      time += (1 + Math.floor(rng() * 30)) * MINUTE;
      push(t, 'tour_bookmark', tour, time);
      if (rng() < 0.35) {
        time += Math.floor(rng() * 2 * DAY) + 10 * MINUTE;
        push(t, 'itinerary_add', tour, time);
        if (rng() < 0.3) push(t, 'inquiry', tour, (time += (5 + Math.floor(rng() * 600)) * MINUTE));
      }
    }
  }

  // Retries: ~1% of events are sent again (same id) a little later.
  let duplicatesSent = 0;
  let lateSent = 0;
  const extra: Item[] = [];
  for (const item of items) {
    if (item.kind !== 'event') continue;
    const r = rng();
    if (r < 0.01) {
      extra.push({ ...item, arrival: item.arrival + 1000 + Math.floor(rng() * 10 * MINUTE), seq: seq++ });
      duplicatesSent++;
    } else if (r < 0.0115) {
      // A phone that was offline: the event arrives 1–12 hours after it happened.
      item.arrival += HOUR + Math.floor(rng() * 11 * HOUR);
      lateSent++;
    }
  }
  items.push(...extra);
  items.sort((a, b) => a.arrival - b.arrival || a.seq - b.seq);
  return { items, byType, duplicatesSent, lateSent, identifyCalls, travelers: travelers.length };
}

/** The tour marketplace config from `config.json`, with the generated operator directory (the benchmark uses it too). */
export function demoConfig(world: World): ConfigInput {
  const base = JSON.parse(readFileSync(new URL('./config.json', import.meta.url), 'utf8')) as ConfigInput & { routing: NonNullable<ConfigInput['routing']> };
  const desk = base.routing.owners?.find((o) => o.id === 'marketplace-desk');
  return {
    ...base,
    routing: {
      ...base.routing,
      owners: [...world.operators.map((o) => ({ id: o.id, name: o.name, active: o.active, targets: o.targets })), ...(desk ? [desk] : [])],
    },
  };
}

/**
 * Generates the stream, runs it through an engine and checks the invariants.
 * @example
 * const summary = await runDemo({ events: 20_000, seed: 7, quiet: true });
 * if (!summary.ok) process.exitCode = 1;
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const seed = options.seed ?? 42;
  const target = options.events ?? 100_000;
  const log = options.quiet ? () => {} : (line = '') => console.log(line);
  const rng = mulberry32(seed);
  // The world scales with the stream, so a short test run is a smaller marketplace, not a sparse one.
  const scale = Math.min(1, target / 100_000);
  const world = buildWorld(rng, Math.max(30, Math.round(300 * Math.sqrt(scale))), 40);
  const stream = generate(rng, world, target, Math.max(100, Math.round(5000 * scale)));

  const config = parseConfig(demoConfig(world), { source: 'demo (config.json + generated operators)' });
  const windowMs = parseDuration(config.routing?.dedupeWindow ?? '0ms') ?? 0;
  const clock = new ManualClock(START);
  const engine = createEngine({ config, clock });

  log(`leadpipe demo: tour marketplace, seed ${seed}`);
  log(
    `generated ${fmt(stream.items.length - stream.identifyCalls)} events over ${DAYS} days: ${fmt(stream.travelers)} travelers, ${fmt(world.tours.length)} tours ` +
      `(${world.sharedTours} run by two operators), ${world.operators.length} operators (${world.operators.filter((o) => !o.active).length} paused)`,
  );
  log(
    `  ${Object.entries(stream.byType)
      .map(([t, n]) => `${t} ${fmt(n)}`)
      .join(' · ')} · resent ${fmt(stream.duplicatesSent)} · late ${fmt(stream.lateSent)} · identify ${fmt(stream.identifyCalls)}`,
  );

  // Feed the engine in arrival order: events in chunks through trackMany, identify calls between.
  const results = { processed: 0, duplicate: 0, stored: 0, rejected: 0, replayed: 0 };
  const count = (rs: TrackResult[]) => {
    for (const r of rs) {
      results[r.status]++;
      if (r.replayed) results.replayed++;
    }
  };
  const CHUNK = 1000;
  let chunk: EventInput[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    count(await engine.trackMany(chunk));
    chunk = [];
  };
  const started = performance.now();
  for (const item of stream.items) {
    if (item.kind === 'identify') {
      await flush();
      clock.set(item.arrival);
      await engine.identify({ anonymousId: item.anonymousId, subjectId: item.subjectId, traits: item.traits });
      continue;
    }
    if (chunk.length === 0) clock.set(item.arrival);
    chunk.push(item.event);
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  const elapsedMs = performance.now() - started;
  const tracked = stream.items.length - stream.identifyCalls;
  const eventsPerSecond = Math.round(tracked / (elapsedMs / 1000));

  // Read every lead back.
  const leads: LeadState[] = [];
  for (let cursor: string | undefined; ; ) {
    const page = await engine.store.listLeads('default', { limit: 10_000, ...(cursor ? { cursor } : {}) });
    leads.push(...page.leads);
    if (!page.next) break;
    cursor = page.next;
  }
  const byStage: Record<string, number> = Object.fromEntries(config.qualification.stages.map((s) => [s, 0]));
  const byTier: Record<string, number> = Object.fromEntries([...config.qualification.tiers.map((t) => [t.name, 0]), ['(none)', 0]]);
  const routesByOwner: Record<string, number> = {};
  let routedLeads = 0;
  let fanOutLeads = 0;
  for (const lead of leads) {
    if (new Set(lead.routes.map((r) => r.eventId)).size < lead.routes.length) fanOutLeads++;
    byStage[lead.stage] = (byStage[lead.stage] ?? 0) + 1;
    byTier[lead.tier ?? '(none)'] = (byTier[lead.tier ?? '(none)'] ?? 0) + 1;
    if (lead.routes.length > 0) routedLeads++;
    for (const r of lead.routes) routesByOwner[r.ownerId] = (routesByOwner[r.ownerId] ?? 0) + 1;
  }
  const effects = (await engine.store.listEffects('default')).flatMap((e) => (e.effect.kind === 'delivery' ? [e.effect] : []));
  const deliveries = effects.length;
  const aliases = new Map<string, string>();
  for (const item of stream.items) if (item.kind === 'identify') aliases.set(item.anonymousId, item.subjectId);
  const checks = [
    checkBreakdowns(leads),
    checkDedupe(leads, windowMs, config.routing?.dedupeWindow ?? ''),
    checkDeliveries(leads, effects, aliases, windowMs),
  ];
  const ok = checks.every((c) => c.ok || !c.required);

  log(`\ntracked ${fmt(tracked)} events in ${(elapsedMs / 1000).toFixed(2)} s: ${fmt(eventsPerSecond)} events/s (memory store, trackMany × ${CHUNK})`);
  log(`  processed ${fmt(results.processed)} · duplicates ignored ${fmt(results.duplicate)} · late events replayed ${fmt(results.replayed)}`);
  log(`\n${fmt(leads.length)} leads (traveler × tour), ${fmt(routedLeads)} routed (${fmt(fanOutLeads)} to two operators at once), ${fmt(deliveries)} deliveries in the outbox`);
  const pct = (n: number) => `${((100 * n) / Math.max(1, leads.length)).toFixed(1)}%`;
  log('\n' + table([['stage', 'leads', 'share'], ...Object.entries(byStage).filter(([, n]) => n > 0).map(([s, n]) => [s, fmt(n), pct(n)])]));
  log('\n' + table([['tier', 'leads', 'share'], ...Object.entries(byTier).filter(([, n]) => n > 0).map(([s, n]) => [s, fmt(n), pct(n)])]));
  const owners = Object.entries(routesByOwner).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const TOP = 10;
  const totalRoutes = owners.reduce((s, [, n]) => s + n, 0);
  const rest = owners.slice(TOP).reduce((s, [, n]) => s + n, 0);
  log(
    '\n' +
      table([
        ['owner', 'routed leads'],
        ...owners.slice(0, TOP).map(([o, n]) => [o, fmt(n)]),
        ...(rest > 0 ? [[`… ${owners.length - TOP} more owners`, fmt(rest)]] : []),
        ['total', fmt(totalRoutes)],
      ]),
  );
  log('\nverification');
  for (const c of checks) {
    const mark = c.ok ? 'ok  ' : c.required ? 'FAIL' : 'WARN';
    log(`  ${mark}  ${c.name} (${fmt(c.checked)} checked${c.ok ? '' : `, ${c.failures.length} failed: ${c.failures.slice(0, 3).join('; ')}`})`);
  }
  log(ok ? '  all checks passed' : '  CHECKS FAILED');

  return {
    seed,
    world: { travelers: stream.travelers, tours: world.tours.length, sharedTours: world.sharedTours, operators: world.operators.length, pausedOperators: world.operators.filter((o) => !o.active).length },
    stream: { events: tracked, byType: stream.byType, duplicatesSent: stream.duplicatesSent, lateSent: stream.lateSent, identifyCalls: stream.identifyCalls },
    results,
    elapsedMs,
    eventsPerSecond,
    leads: leads.length,
    byStage,
    byTier,
    routedLeads,
    fanOutLeads,
    routesByOwner,
    deliveries,
    checks,
    ok,
  };
}

/** Invariant 1: each lead's breakdown by source adds up to its score, compared in hundredths. */
function checkBreakdowns(leads: readonly LeadState[]): DemoCheck {
  const failures: string[] = [];
  for (const lead of leads) {
    let sum = 0;
    for (const points of Object.values(lead.breakdown.sources)) sum += points;
    if (Math.round(sum * 100) !== Math.round(lead.score * 100) && failures.length < 20) failures.push(lead.id);
  }
  return { name: 'every breakdown adds up to its score, to the hundredth', checked: leads.length, failures, ok: failures.length === 0, required: true };
}

/** Invariant 2: no (lead, owner) pair has two routes closer together than the dedupe window. */
function checkDedupe(leads: readonly LeadState[], windowMs: number, window: string): DemoCheck {
  const failures: string[] = [];
  let checked = 0;
  for (const lead of leads) {
    const byOwner = new Map<string, number[]>();
    for (const r of lead.routes) {
      checked++;
      const times = byOwner.get(r.ownerId);
      if (times) times.push(r.at);
      else byOwner.set(r.ownerId, [r.at]);
    }
    for (const [owner, times] of byOwner) {
      times.sort((a, b) => a - b);
      for (let i = 1; i < times.length; i++) {
        if ((times[i] as number) - (times[i - 1] as number) < windowMs && failures.length < 20) failures.push(`${lead.id}→${owner}`);
      }
    }
  }
  return { name: `no lead routed to the same owner twice within ${window}`, checked, failures, ok: failures.length === 0, required: true };
}

/**
 * The outbox keeps the dedupe promise: per (lead, owner) — a delivery made to an anonymous lead
 * counting for the lead `identify` merged it into — deliveries are at least the window apart, and
 * every routing decision in the final leads is covered by a delivery to that owner within the
 * window (a late event may move a decision after the owner already has the lead).
 */
function checkDeliveries(leads: readonly LeadState[], effects: ReadonlyArray<DeliveryEffect>, aliases: ReadonlyMap<string, string>, windowMs: number): DemoCheck {
  const sent = new Map<string, number[]>();
  for (const e of effects) {
    // `anon:<device>|<tour>` became `<traveler>|<tour>` when the device was identified.
    const m = /^anon:([^|]+)\|(.*)$/.exec(e.leadId);
    const subject = m ? aliases.get(m[1] as string) : undefined;
    const key = `${subject && m ? `${subject}|${m[2]}` : e.leadId}→${e.ownerId}`;
    const times = sent.get(key);
    if (times) times.push(e.routedAt);
    else sent.set(key, [e.routedAt]);
  }
  const failures: string[] = [];
  for (const [key, times] of sent) {
    times.sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) if ((times[i] as number) - (times[i - 1] as number) < windowMs && failures.length < 20) failures.push(`${key}: two deliveries within the window`);
  }
  for (const lead of leads) {
    for (const r of lead.routes) {
      const times = sent.get(`${lead.id}→${r.ownerId}`) ?? [];
      if (!times.some((t) => Math.abs(t - r.at) < windowMs) && failures.length < 20) failures.push(`${lead.id}→${r.ownerId}: route at ${r.eventId} has no delivery`);
    }
  }
  return { name: 'outbox: no owner got a lead twice within the window; every route delivered', checked: effects.length, failures, ok: failures.length === 0, required: true };
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const summary = await runDemo();
  if (!summary.ok) process.exitCode = 1;
}
