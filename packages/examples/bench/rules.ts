/**
 * The rules workloads: one evaluation of N three-condition rules (a numeric threshold, an `in`
 * list, and equality on a nested path) over varying facts.
 *
 * - `rules-20`, `rules-200`: the conditions are under `all`;
 * - `rules-any-20`: the same conditions under `any` (most rules fire).
 *
 * Facts come from a pre-generated pool of 1,024 objects, cycled, so every evaluation sees
 * different values and no evaluator can cache a result.
 *
 * Implementations:
 * - `leadpipe`: `compileRules(rules, { recordResults: false }).run(facts)`;
 * - `json-rules-engine`: one `Engine` built once, `await engine.run(facts)` one at a time (a
 *   shared engine must never run concurrently: see STYLE.md "Known traps");
 * - `hand-written`: a plain loop doing the same checks with the same semantics — every rule is
 *   evaluated, every condition of a rule is evaluated (json-rules-engine evaluates a group with
 *   `Promise.all`, no short-circuit), and the fired events are collected in an array.
 *
 * Before anything is timed the three must return the same fired rule names for a sample of
 * facts; the benchmark aborts otherwise.
 * @module
 */
import { Engine } from 'json-rules-engine';
import { compileRules } from '@leadpipe/core';
import type { RuleProperties } from '@leadpipe/core';
import { mulberry32 } from '../src/tour-marketplace/demo.js';
import { AsyncMeter, forceGc, interleave, SyncMeter, type Timing } from './measure.js';

/** A rules workload. */
export interface RulesWorkload {
  name: 'rules-20' | 'rules-200' | 'rules-any-20';
  rules: number;
  combinator: 'all' | 'any';
}

export const RULES_WORKLOADS: readonly RulesWorkload[] = [
  { name: 'rules-20', rules: 20, combinator: 'all' },
  { name: 'rules-200', rules: 200, combinator: 'all' },
  { name: 'rules-any-20', rules: 20, combinator: 'any' },
];

interface Facts {
  score: number;
  country: string;
  account: { plan: { tier: string }; seats: number };
}

const COUNTRY_LISTS = [['US', 'CA'], ['DE', 'FR', 'NL'], ['GB'], ['US'], ['JP', 'KR'], ['BR', 'PT', 'ES']];
const COUNTRIES = ['US', 'CA', 'DE', 'FR', 'NL', 'GB', 'JP', 'KR', 'BR', 'PT', 'ES', 'IT'];
const TIERS = ['pro', 'team', 'free', 'enterprise'];
const POOL = 1024;

interface RuleSpec {
  name: string;
  threshold: number;
  countries: string[];
  tier: string;
}

function specs(n: number): RuleSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `rule-${i}`,
    threshold: (i * 37) % 90,
    countries: COUNTRY_LISTS[i % COUNTRY_LISTS.length] as string[],
    tier: TIERS[(i * 7 + Math.floor(i / 4)) % TIERS.length] as string,
  }));
}

/** The rules in json-rules-engine's JSON format. */
export function buildRules(workload: RulesWorkload): RuleProperties[] {
  return specs(workload.rules).map((s) => ({
    name: s.name,
    conditions: {
      [workload.combinator]: [
        { fact: 'score', operator: 'greaterThanInclusive', value: s.threshold },
        { fact: 'country', operator: 'in', value: s.countries },
        { fact: 'account', path: '$.plan.tier', operator: 'equal', value: s.tier },
      ],
    } as unknown as RuleProperties['conditions'],
    event: { type: 'matched', params: { rule: s.name } },
  }));
}

/** A seeded pool of varied fact objects. */
export function buildFacts(seed = 1): Facts[] {
  const rng = mulberry32(seed);
  return Array.from({ length: POOL }, () => ({
    score: Math.floor(rng() * 100),
    country: COUNTRIES[Math.floor(rng() * COUNTRIES.length)] as string,
    account: { plan: { tier: TIERS[Math.floor(rng() * TIERS.length)] as string }, seats: 1 + Math.floor(rng() * 50) },
  }));
}

/** Fired events as the hand-written loop reports them. */
type Fired = Array<{ type: string; params: { rule: string } }>;

/**
 * The hand-written evaluator: the same checks as plain code. Conditions of a rule are all
 * evaluated (no short-circuit), as json-rules-engine does; `in` uses `indexOf` as its operator
 * does; fired events are collected.
 */
export function handWritten(workload: RulesWorkload): (facts: Facts) => Fired {
  const list = specs(workload.rules);
  const n = list.length;
  const thresholds = list.map((s) => s.threshold);
  const countries = list.map((s) => s.countries);
  const tiers = list.map((s) => s.tier);
  const events = list.map((s) => ({ type: 'matched', params: { rule: s.name } }));
  if (workload.combinator === 'all') {
    return (f) => {
      const fired: Fired = [];
      const score = f.score;
      const country = f.country;
      const tier = f.account.plan.tier;
      for (let i = 0; i < n; i++) {
        const a = score >= (thresholds[i] as number);
        const b = (countries[i] as string[]).indexOf(country) !== -1;
        const c = tier === tiers[i];
        if (a && b && c) fired.push(events[i] as Fired[number]);
      }
      return fired;
    };
  }
  return (f) => {
    const fired: Fired = [];
    const score = f.score;
    const country = f.country;
    const tier = f.account.plan.tier;
    for (let i = 0; i < n; i++) {
      const a = score >= (thresholds[i] as number);
      const b = (countries[i] as string[]).indexOf(country) !== -1;
      const c = tier === tiers[i];
      if (a || b || c) fired.push(events[i] as Fired[number]);
    }
    return fired;
  };
}

/** Rounds in which the three implementations take turns (see `interleave`): a multiple of three, so each goes first, second and third equally often. */
const ROUNDS = 6;

/** One result row of a rules workload. */
export interface RulesResult extends Timing {
  workload: RulesWorkload['name'];
  impl: 'leadpipe' | 'json-rules-engine' | 'hand-written';
  note: string;
}

/** Options of {@link runRulesWorkload}. */
export interface RulesRunOptions {
  /** Time budget per fast implementation, ms. */
  budgetMs: number;
  /** Time budget for json-rules-engine, ms. */
  slowBudgetMs: number;
  log: (line: string) => void;
}

const names = (events: ReadonlyArray<{ params?: Record<string, unknown> }>) =>
  events
    .map((e) => String(e.params?.rule))
    .sort()
    .join(',');

/**
 * Checks that the three implementations fire the same rules on every fact of the pool, then
 * times them, taking turns in {@link ROUNDS} rounds.
 * @throws Error when they disagree (the figures would be meaningless).
 */
export async function runRulesWorkload(workload: RulesWorkload, options: RulesRunOptions): Promise<RulesResult[]> {
  const rules = buildRules(workload);
  const facts = buildFacts(workload.rules);
  const compiled = compileRules(rules, { recordResults: false });
  const hand = handWritten(workload);
  // structuredClone: json-rules-engine keeps (and may decorate) the objects it is given.
  const jre = new Engine(structuredClone(rules) as never);

  // Correctness first: the same fired rules for every fact in the pool.
  let firedTotal = 0;
  for (let i = 0; i < facts.length; i++) {
    const f = facts[i] as Facts;
    const a = names(compiled.run(f as never).events);
    const b = names(hand(f));
    const c = names((await jre.run(f as never)).events);
    if (a !== b || a !== c) {
      throw new Error(`[bench] ${workload.name}: implementations disagree on facts #${i} ${JSON.stringify(f)}:\n  leadpipe          ${a}\n  hand-written      ${b}\n  json-rules-engine ${c}`);
    }
    firedTotal += a === '' ? 0 : a.split(',').length;
  }
  options.log(`  ${workload.name}: all three fire the same rules on ${facts.length} fact objects (${(firedTotal / facts.length).toFixed(1)} rules fire per evaluation on average)`);

  const mask = facts.length - 1;
  const fast = { warmupMs: Math.min(500, options.budgetMs / 3), group: 100 };
  const lp = new SyncMeter((i) => compiled.run(facts[i & mask] as never).events.length, fast);
  const hw = new SyncMeter((i) => hand(facts[i & mask] as Facts).length, fast);
  const slow = { warmupMs: Math.min(300, options.slowBudgetMs / 4), group: 1 };
  const jr = new AsyncMeter(async (i) => (await jre.run(facts[i & mask] as never)).events.length, slow);
  await interleave([lp, hw, jr], [options.budgetMs, options.budgetMs, options.slowBudgetMs], ROUNDS, forceGc());
  const results: RulesResult[] = [
    { workload: workload.name, impl: 'leadpipe', ...lp.timing(), note: 'compileRules(recordResults:false).run' },
    { workload: workload.name, impl: 'hand-written', ...hw.timing(), note: 'plain loop, all conditions evaluated' },
    { workload: workload.name, impl: 'json-rules-engine', ...jr.timing(), note: 'one Engine, runs awaited one at a time; single-call latencies' },
  ];
  // The sinks (fired-rule counts that keep the work observable) are not part of the report.
  for (const r of results) delete (r as Partial<Timing & { sink: number }>).sink;
  return results;
}
