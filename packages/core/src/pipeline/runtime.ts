/**
 * A parsed config compiled for evaluation: every condition compiled once into a function,
 * durations in milliseconds, lookups as Maps. Built once per engine; the stages read it and
 * never re-parse anything per event.
 * @module
 */
import type { Config, ModifierConfig, OwnerConfig, RouteTargetConfig, SignalConfig, TierConfig, WeeklyWindow } from '../config/schema.js';
import { parseDuration } from '../config/duration.js';
import { compileCondition, type CompiledCondition } from '../rules/compile.js';
import type { CompileOptions, OperatorFn, TopLevelCondition } from '../rules/types.js';
import { loadKey, routingCause } from './route.js';
import { LocalTime } from './time.js';

/** A signal with its durations in milliseconds. */
export interface SignalRuntime {
  name: string;
  def: SignalConfig;
  component: string;
  /** Position of `component` in {@link Runtime.components}. */
  componentIndex: number;
  halfLifeMs?: number;
  windowMs?: number;
  /** Calendar bucket for caps and diminishing returns, if either is set. */
  bucketPer?: 'hour' | 'day' | 'week' | 'month' | 'lifetime';
  capMax: number;
  diminishing: number;
  /** Modifiers that apply to this signal, in config order. */
  modifiers: ModifierRuntime[];
}

/** A modifier with its condition compiled. */
export interface ModifierRuntime {
  def: ModifierConfig;
  condition?: CompiledCondition;
}

/** A qualification or routing rule with its condition compiled. */
export interface RuleRuntime<T> {
  name: string;
  priority: number;
  /** Position in the config, for stable ordering of equal priorities. */
  index: number;
  condition?: CompiledCondition;
  def: T;
}

/**
 * A routing owner as the route stage reads it: its config, its local time, and its load counter's
 * key made once (a routed event looks the key up two or three times, and a key built per event is
 * a new string each time, hashed again by every lookup).
 */
export type OwnerRuntime = OwnerConfig & { local: LocalTime; windows?: WeeklyWindow[]; loadKey: string };

/** A routing target with its owner filter compiled. */
export interface TargetRuntime {
  def: RouteTargetConfig;
  where?: CompiledCondition;
}

/** The compiled config the stages evaluate. */
export interface Runtime {
  config: Config;
  local: LocalTime;
  signals: Map<string, SignalRuntime>;
  components: Array<{ name: string; weight: number; normalize: Config['scoring']['normalize'] }>;
  /** Component positions by name. */
  componentIndex: Map<string, number>;
  totalWeight: number;
  fit: Array<{ name: string; component: string; points: number; condition: CompiledCondition }>;
  /** Whether any modifier or rule reads `hour` / `weekday` / `businessHours` or uses time windows. */
  stages: string[];
  stageIndex: Map<string, number>;
  qualification: Array<RuleRuntime<Config['qualification']['rules'][number]>>;
  tiers: Array<TierConfig & { upper: number }>;
  routing?: {
    minScore: number;
    dedupeWindowMs: number;
    stage: string | null;
    closedStages: Set<string>;
    owners: Map<string, OwnerRuntime>;
    /** Owners by target id, from each owner's `targets`. */
    ownersByTarget: Map<string, string[]>;
    rules: Array<RuleRuntime<NonNullable<Config['routing']>['rules'][number]> & { target: TargetRuntime }>;
    fallback?: TargetRuntime;
    /** The `cause` of the stage change a route makes, by deciding rule name (`fallback` included): made once, not per routed event. */
    causes: Map<string, string>;
  };
  leadKeyHasTarget: boolean;
  /** `scoring.businessHours` as a list, for `LocalTime.inWindows` (built once, not per event). */
  businessHours: WeeklyWindow[];
  consent: Config['privacy']['consent'];
}

/** Options that change how rules compile. */
export interface RuntimeOptions {
  operators?: Record<string, OperatorFn>;
  /** Passed to the rule compiler. @defaultValue 'auto' */
  mode?: CompileOptions['mode'];
}

/** Compiles a parsed config. Throws `RuleError` if a condition cannot be compiled. */
export function buildRuntime(config: Config, options: RuntimeOptions = {}): Runtime {
  const compileOptions: CompileOptions = {
    allowUndefinedFacts: true,
    ...(options.operators ? { operators: options.operators } : {}),
    ...(options.mode ? { mode: options.mode } : {}),
  };
  const compile = (c: TopLevelCondition | undefined) => (c === undefined ? undefined : compileCondition(c, compileOptions));
  const local = new LocalTime(config.timeZone);

  const modifiers: ModifierRuntime[] = config.scoring.modifiers.map((def) => {
    const condition = compile(def.conditions);
    return condition ? { def, condition } : { def };
  });
  const components = Object.entries(config.scoring.components).map(([name, c]) => ({
    name,
    weight: c.weight,
    normalize: c.normalize ?? config.scoring.normalize,
  }));
  const componentIndex = new Map(components.map((c, i) => [c.name, i]));
  const signals = new Map<string, SignalRuntime>();
  for (const [name, def] of Object.entries(config.signals)) {
    const halfLifeMs = def.halfLife ? parseDuration(def.halfLife) : undefined;
    const windowMs = def.window ? parseDuration(def.window) : undefined;
    const bucketPer = def.cap?.per ?? (def.diminishing !== undefined ? 'lifetime' : undefined);
    signals.set(name, {
      name,
      def,
      component: def.component,
      componentIndex: componentIndex.get(def.component) as number,
      ...(halfLifeMs ? { halfLifeMs } : {}),
      ...(windowMs ? { windowMs } : {}),
      ...(bucketPer ? { bucketPer } : {}),
      capMax: def.cap?.max ?? Number.POSITIVE_INFINITY,
      diminishing: def.diminishing ?? 1,
      modifiers: modifiers.filter((m) => m.def.signals === undefined || m.def.signals.includes(name)),
    });
  }

  const totalWeight = components.reduce((sum, c) => sum + c.weight, 0);
  const fit = config.scoring.fit.map((f) => ({
    name: f.name,
    component: f.component,
    points: f.points,
    condition: compileCondition(f.conditions, compileOptions),
  }));

  const stages = config.qualification.stages;
  const byPriority = <T extends { priority: number; index: number }>(a: T, b: T) => b.priority - a.priority || a.index - b.index;
  const qualification = config.qualification.rules
    .map((def, index) => {
      const condition = compile(def.conditions);
      return { name: def.name, priority: def.priority, index, def, ...(condition ? { condition } : {}) };
    })
    .sort(byPriority);

  // Tier bands: each tier ends where the next higher one starts, unless it says otherwise.
  const tiers = config.qualification.tiers.map((t, i, all) => ({
    ...t,
    upper: t.maxScore ?? (i === 0 ? Number.POSITIVE_INFINITY : (all[i - 1] as TierConfig).minScore),
  }));

  let routing: Runtime['routing'];
  if (config.routing) {
    const r = config.routing;
    const owners = new Map<string, OwnerRuntime>();
    const ownersByTarget = new Map<string, string[]>();
    for (const owner of r.owners) {
      const ownerLocal = owner.timeZone && owner.timeZone !== config.timeZone ? new LocalTime(owner.timeZone) : local;
      owners.set(owner.id, { ...owner, local: ownerLocal, ...(owner.availability ? { windows: owner.availability } : {}), loadKey: loadKey(owner.id) });
      for (const target of owner.targets) {
        const list = ownersByTarget.get(target);
        if (list) list.push(owner.id);
        else ownersByTarget.set(target, [owner.id]);
      }
    }
    const target = (def: RouteTargetConfig): TargetRuntime => {
      const where = compile(def.where);
      return where ? { def, where } : { def };
    };
    routing = {
      minScore: r.minScore,
      dedupeWindowMs: parseDuration(r.dedupeWindow) ?? 0,
      stage: r.stage,
      closedStages: new Set(r.closedStages),
      owners,
      ownersByTarget,
      rules: r.rules
        .map((def, index) => {
          const condition = compile(def.conditions);
          return { name: def.name, priority: def.priority, index, def, target: target(def.to), ...(condition ? { condition } : {}) };
        })
        .sort(byPriority),
      ...(r.fallback ? { fallback: target(r.fallback) } : {}),
      causes: new Map([...r.rules.map((rule) => rule.name), 'fallback'].map((name) => [name, routingCause(name)])),
    };
  }

  return {
    config,
    local,
    signals,
    components,
    componentIndex,
    totalWeight,
    fit,
    stages,
    stageIndex: new Map(stages.map((s, i) => [s, i])),
    qualification,
    tiers,
    ...(routing ? { routing } : {}),
    leadKeyHasTarget: config.leadKey.includes('targetId'),
    businessHours: [config.scoring.businessHours],
    consent: config.privacy.consent,
  };
}
