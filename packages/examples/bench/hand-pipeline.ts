/**
 * The pipeline peers leadpipe is measured against, both written for the tour marketplace config
 * only (its signals, rules and routing are hard-coded or read once):
 *
 * - {@link HandWrittenPipeline}: "the limit to approach". Decayed per-(traveler, tour) sums in a
 *   `Map`, each kept referenced to a fixed epoch (`Σ wᵢ·2^((tᵢ−t_ref)/halfLife)`, so adding an
 *   event is one multiply-add and no stored value is ever rewritten for decay), daily caps and
 *   diminishing returns in the config's time zone, the score formula, the three qualification
 *   rules as `if`s, and routing to the tour's active operator(s) (or the concierge desk) with the
 *   7-day dedupe window. No event log, no outbox, no lifecycle events: only what decides
 *   the outcome.
 * - {@link JsonRulesEngineGlue}: the same scoring, but qualification and routing are
 *   json-rules-engine rules run per event (`await engine.run(facts)`), as a user gluing
 *   json-rules-engine into a pipeline would write it.
 *
 * Both produce the same observable outcome as leadpipe for this config (leads, stages, tiers,
 * deliveries); the benchmark compares those before reporting figures.
 * @module
 */
import { Engine } from 'json-rules-engine';
import type { Config } from '@leadpipe/core';
import type { TourEvent, World } from './events.js';

const DAY_MS = 86_400_000;
const SLOT_MS = 15 * 60_000;
/** Reference time of the decayed sums. */
const EPOCH = Date.parse('2025-01-01T00:00:00Z');

/** Signal indexes. */
const SIGNALS = ['tour_view', 'tour_bookmark', 'itinerary_add', 'inquiry'] as const;
const STAGES = ['new', 'engaged', 'qualified', 'routed'] as const;

/** Per-signal scoring parameters read from the config. */
interface SignalParams {
  points: number;
  halfLifeMs: number;
  /** 0 = engagement, 1 = intent. */
  component: number;
  capMax: number;
  diminishing: number;
  capped: boolean;
}

function parseMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(text);
  if (!m) throw new Error(`[bench] unexpected duration ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS }[m[2] as 'ms'];
  return Number(m[1]) * unit;
}

/** The outcome a pipeline produced, compared across implementations. */
export interface PipelineOutcome {
  events: number;
  leads: number;
  deliveries: number;
  byStage: Record<string, number>;
  byTier: Record<string, number>;
}

/** What the hand-written loop keeps per (traveler, tour): ~16 numbers and a small array. */
class Pair {
  /** Decayed sums referenced to EPOCH, one per signal. */
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  /** Events per signal (the `counts` fact). */
  c0 = 0;
  c1 = 0;
  c2 = 0;
  c3 = 0;
  /** Local day of the last event per capped signal, and its rank within that day. */
  d0 = -1;
  d1 = -1;
  d2 = -1;
  r0 = 0;
  r1 = 0;
  r2 = 0;
  stage = 0;
  tier = -1;
  /** Time each of the tour's owners last got this lead (parallel to the tour's owner list); null until routed. */
  routedAt: number[] | null = null;
  constructor(readonly tour: TourRoute) {}
}

/** Where a tour's leads go: its active operators, or the fallback desk. */
interface TourRoute {
  owners: string[];
}

/** Shared scoring and routing data for the two hand-built pipelines. */
class TourModel {
  readonly signals: SignalParams[];
  readonly minScore: number;
  readonly dedupeMs: number;
  readonly routes = new Map<string, TourRoute>();
  readonly tiers: Array<{ name: string; min: number }>;
  readonly engagementMax: number;
  readonly intentMax: number;
  readonly engagementWeight: number;
  readonly intentWeight: number;
  readonly timeZone: string;
  private offsetSlot = Number.NaN;
  private offset = 0;
  private readonly dtf: Intl.DateTimeFormat;

  constructor(config: Config, world: World) {
    const cfg = config as unknown as {
      signals: Record<string, { points: number; halfLife: string; component: string; cap?: { max: number }; diminishing?: number }>;
      scoring: { components: Record<string, { weight: number; normalize: { max: number } }> };
      routing: { minScore: number; dedupeWindow: string; fallback: { owners: string[] } };
      qualification: { tiers: Array<{ name: string; minScore: number }> };
      timeZone: string;
    };
    this.signals = SIGNALS.map((name) => {
      const s = cfg.signals[name];
      if (!s) throw new Error(`[bench] config has no signal ${name}`);
      return {
        points: s.points,
        halfLifeMs: parseMs(s.halfLife),
        component: s.component === 'engagement' ? 0 : 1,
        capMax: s.cap?.max ?? Number.POSITIVE_INFINITY,
        diminishing: s.diminishing ?? 1,
        capped: s.cap !== undefined || s.diminishing !== undefined,
      };
    });
    const eng = cfg.scoring.components.engagement as { weight: number; normalize: { max: number } };
    const int = cfg.scoring.components.intent as { weight: number; normalize: { max: number } };
    this.engagementMax = eng.normalize.max;
    this.intentMax = int.normalize.max;
    this.engagementWeight = eng.weight;
    this.intentWeight = int.weight;
    this.minScore = cfg.routing.minScore;
    this.dedupeMs = parseMs(cfg.routing.dedupeWindow);
    this.tiers = cfg.qualification.tiers.map((t) => ({ name: t.name, min: t.minScore })).sort((a, b) => b.min - a.min);
    this.timeZone = cfg.timeZone;
    this.dtf = new Intl.DateTimeFormat('en-US', { timeZone: this.timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    for (const tour of world.tours) {
      const owners = world.operators.filter((o) => o.active && o.targets.includes(tour)).map((o) => o.id);
      this.routes.set(tour, { owners: owners.length > 0 ? owners : cfg.routing.fallback.owners });
    }
  }

  /** Local calendar day number of `t` (the UTC offset is looked up once per 15-minute slot). */
  localDay(t: number): number {
    const slot = Math.floor(t / SLOT_MS);
    if (slot !== this.offsetSlot) {
      this.offsetSlot = slot;
      const p = this.dtf.formatToParts(new Date(t));
      const get = (type: string) => Number(p.find((x) => x.type === type)?.value);
      const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'));
      this.offset = wall - Math.floor(t / 60_000) * 60_000;
    }
    return Math.floor((t + this.offset) / DAY_MS);
  }

  /** Adds one event to a pair's sums and counts. */
  score(p: Pair, signal: number, t: number): number {
    const s = this.signals[signal] as SignalParams;
    let points = s.points;
    if (s.capped) {
      const day = this.localDay(t);
      let rank = 0;
      if (signal === 0) rank = p.d0 === day ? p.r0 : 0;
      else if (signal === 1) rank = p.d1 === day ? p.r1 : 0;
      else rank = p.d2 === day ? p.r2 : 0;
      points = rank >= s.capMax ? 0 : points * s.diminishing ** rank;
      if (signal === 0) {
        p.d0 = day;
        p.r0 = rank + 1;
      } else if (signal === 1) {
        p.d1 = day;
        p.r1 = rank + 1;
      } else {
        p.d2 = day;
        p.r2 = rank + 1;
      }
    }
    const w = points * 2 ** ((t - EPOCH) / s.halfLifeMs);
    if (signal === 0) {
      p.s0 += w;
      p.c0++;
    } else if (signal === 1) {
      p.s1 += w;
      p.c1++;
    } else if (signal === 2) {
      p.s2 += w;
      p.c2++;
    } else {
      p.s3 += w;
      p.c3++;
    }
    // Decayed value of each signal at t, then components and the 0–100 score (to the hundredth).
    const [v0, v1, v2, v3] = this.signals as [SignalParams, SignalParams, SignalParams, SignalParams];
    const e0 = p.s0 * 2 ** (-(t - EPOCH) / v0.halfLifeMs);
    const e1 = p.s1 * 2 ** (-(t - EPOCH) / v1.halfLifeMs);
    const e2 = p.s2 * 2 ** (-(t - EPOCH) / v2.halfLifeMs);
    const e3 = p.s3 * 2 ** (-(t - EPOCH) / v3.halfLifeMs);
    const engagement = e0 > 0 ? Math.min(100, (100 * e0) / this.engagementMax) : 0;
    const intentRaw = e1 + e2 + e3;
    const intent = intentRaw > 0 ? Math.min(100, (100 * intentRaw) / this.intentMax) : 0;
    const exact = (this.engagementWeight * engagement) / (this.engagementWeight + this.intentWeight) + (this.intentWeight * intent) / (this.engagementWeight + this.intentWeight);
    return Math.round(exact * 100) / 100;
  }

  tierOf(score: number): number {
    for (let i = 0; i < this.tiers.length; i++) if (score >= (this.tiers[i] as { min: number }).min) return i;
    return -1;
  }

  /** Routes a qualified pair to its tour's owners, skipping owners reached within the window; returns deliveries made. */
  route(p: Pair, t: number): number {
    const owners = p.tour.owners;
    const routedAt = (p.routedAt ??= new Array<number>(owners.length).fill(Number.NEGATIVE_INFINITY));
    let made = 0;
    for (let i = 0; i < owners.length; i++) {
      const last = routedAt[i] as number;
      if (t - last < this.dedupeMs && t >= last) continue;
      routedAt[i] = t;
      made++;
    }
    if (made > 0 && p.stage < 3) p.stage = 3;
    return made;
  }
}

const SIGNAL_INDEX: Record<string, number> = { tour_view: 0, tour_bookmark: 1, itinerary_add: 2, inquiry: 3 };

function outcome(pairs: Map<string, Pair>, events: number, deliveries: number, model: TourModel): PipelineOutcome {
  const byStage: Record<string, number> = {};
  const byTier: Record<string, number> = {};
  for (const p of pairs.values()) {
    const stage = STAGES[p.stage] as string;
    byStage[stage] = (byStage[stage] ?? 0) + 1;
    const tier = p.tier === -1 ? '(none)' : (model.tiers[p.tier] as { name: string }).name;
    byTier[tier] = (byTier[tier] ?? 0) + 1;
  }
  return { events, leads: pairs.size, deliveries, byStage, byTier };
}

/** The minimal loop (see the module comment). */
export class HandWrittenPipeline {
  readonly pairs = new Map<string, Pair>();
  private readonly model: TourModel;
  private events = 0;
  deliveries = 0;

  constructor(config: Config, world: World) {
    this.model = new TourModel(config, world);
  }

  /** Processes one event. */
  track(e: TourEvent): void {
    const model = this.model;
    const key = `${e.subjectId}|${e.targetId}`;
    let p = this.pairs.get(key);
    if (p === undefined) {
      p = new Pair(model.routes.get(e.targetId) as TourRoute);
      this.pairs.set(key, p);
    }
    this.events++;
    const t = e.occurredAt;
    const score = model.score(p, SIGNAL_INDEX[e.type] as number, t);
    // Qualification: the highest-priority matching rule sets the stage (forward only); trip-planned sets tier hot.
    let stage = -1;
    let tier = -1;
    if (p.c3 > 0 || (p.c2 > 0 && score >= 60)) {
      stage = 2; // trip-planned → qualified, tier hot
      tier = 0;
    } else if (score >= 50 && (p.c1 > 0 || p.c2 > 0 || p.c3 > 0)) stage = 2; // shows-intent → qualified
    else if (p.c0 >= 2 || p.c1 > 0) stage = 1; // browsing → engaged
    if (stage > p.stage) p.stage = stage;
    p.tier = tier !== -1 ? tier : model.tierOf(score);
    if (score >= model.minScore) this.deliveries += model.route(p, t);
  }

  outcome(): PipelineOutcome {
    return outcome(this.pairs, this.events, this.deliveries, this.model);
  }
}

/** Tracks a batch through the hand-written loop. */
export function trackAll(pipeline: HandWrittenPipeline, events: readonly TourEvent[]): void {
  for (let i = 0; i < events.length; i++) pipeline.track(events[i] as TourEvent);
}

/**
 * The same scoring as {@link HandWrittenPipeline}, with qualification and routing decided by
 * json-rules-engine: the config's qualification rules as they are, plus a routing rule
 * (`score ≥ routing.minScore`), in one `Engine` run per event, awaited one at a time.
 */
export class JsonRulesEngineGlue {
  readonly pairs = new Map<string, Pair>();
  private readonly model: TourModel;
  private readonly engine: Engine;
  private events = 0;
  deliveries = 0;

  constructor(config: Config, world: World) {
    this.model = new TourModel(config, world);
    const rules = (config.qualification.rules as Array<{ name: string; priority: number; stage?: string; tier?: string; conditions: unknown }>).map((r) => ({
      name: r.name,
      priority: r.priority,
      conditions: structuredClone(r.conditions),
      event: { type: 'qualify', params: { rule: r.name, priority: r.priority, stage: r.stage, tier: r.tier } },
    }));
    rules.push({
      name: 'route',
      priority: 1,
      conditions: { all: [{ fact: 'score', operator: 'greaterThanInclusive', value: this.model.minScore }] },
      event: { type: 'route', params: { rule: 'route', priority: 1, stage: undefined, tier: undefined } },
    });
    this.engine = new Engine(rules as never);
  }

  /** Processes one event. */
  async track(e: TourEvent): Promise<void> {
    const model = this.model;
    const key = `${e.subjectId}|${e.targetId}`;
    let p = this.pairs.get(key);
    if (p === undefined) {
      p = new Pair(model.routes.get(e.targetId) as TourRoute);
      this.pairs.set(key, p);
    }
    this.events++;
    const t = e.occurredAt;
    const score = model.score(p, SIGNAL_INDEX[e.type] as number, t);
    const facts = { score, counts: { tour_view: p.c0, tour_bookmark: p.c1, itinerary_add: p.c2, inquiry: p.c3 } };
    const { events } = await this.engine.run(facts);
    let stage = -1;
    let stagePriority = -1;
    let tier: string | undefined;
    let route = false;
    for (const ev of events) {
      if (ev.type === 'route') {
        route = true;
        continue;
      }
      const params = ev.params as { priority: number; stage?: string; tier?: string };
      const idx = params.stage === undefined ? -1 : STAGES.indexOf(params.stage as (typeof STAGES)[number]);
      if (idx !== -1 && (params.priority > stagePriority || (params.priority === stagePriority && idx > stage))) {
        stage = idx;
        stagePriority = params.priority;
      }
      if (params.tier !== undefined && tier === undefined) tier = params.tier;
    }
    if (stage > p.stage) p.stage = stage;
    p.tier = tier !== undefined ? model.tiers.findIndex((x) => x.name === tier) : model.tierOf(score);
    if (route) this.deliveries += model.route(p, t);
  }

  outcome(): PipelineOutcome {
    return outcome(this.pairs, this.events, this.deliveries, this.model);
  }
}

