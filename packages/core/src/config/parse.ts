/**
 * Loading a config: `parseConfig` validates structure (zod) and meaning (semantic checks) and
 * reports every problem at once with its JSON path; nothing is half-loaded.
 * @module
 */
import type { z } from 'zod';
import { ConfigError, type Issue } from '../errors.js';
import { validateCondition } from '../rules/validate.js';
import { parseDuration } from './duration.js';
import { EVENT_FACTS, FIT_FACTS, LEAD_FACTS, LIFECYCLE_EVENTS, OWNER_FACTS, firstPathKey } from './facts.js';
import { configSchema, type Config, type ConfigInput } from './schema.js';

/** Options for {@link parseConfig}. */
export interface ParseConfigOptions {
  /** Where the document came from (a file name), used in the error message. */
  source?: string;
  /** Names of custom operators the engine will be given, so rules may use them. */
  operators?: Iterable<string>;
}

/** Result of {@link safeParseConfig}. */
export type SafeParseConfigResult = { success: true; config: Config } | { success: false; error: ConfigError };

/**
 * Validates a config document and fills in defaults. Throws one {@link ConfigError} listing
 * every problem (structure and meaning) with its JSON path.
 * @example
 * const config = parseConfig(JSON.parse(readFileSync('leadpipe.json', 'utf8')), { source: 'leadpipe.json' });
 */
export function parseConfig(input: unknown, options: ParseConfigOptions = {}): Config {
  const result = safeParseConfig(input, options);
  if (!result.success) throw result.error;
  return result.config;
}

/** Like {@link parseConfig}, but returns the error instead of throwing. */
export function safeParseConfig(input: unknown, options: ParseConfigOptions = {}): SafeParseConfigResult {
  const parsed = configSchema.safeParse(input);
  const issues: Issue[] = parsed.success ? [] : parsed.error.issues.map(zodIssue);
  // Semantic checks run on the raw document too, so one pass reports structural and semantic
  // problems together; they read defensively and skip what the structure check already flagged.
  issues.push(...checkSemantics(input, parsed.success ? parsed.data : undefined, options));
  if (issues.length > 0) return { success: false, error: new ConfigError(dedupe(issues), options.source) };
  const config = parsed.data as Config;
  return { success: true, config: withDerivedComponents(config, input) };
}

/**
 * Identity function that gives a config literal its type, for authoring configs in TypeScript.
 * It does not validate: pass the result to `parseConfig` or `createEngine`.
 * @example
 * export default defineConfig({ signals: { view: { points: 5 } } });
 */
export function defineConfig<const T extends ConfigInput>(config: T): T {
  return config;
}

/** Formats a path array as `routing.rules[2].to`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function zodIssue(issue: z.core.$ZodIssue): Issue {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    return {
      path: formatPath([...issue.path, ...(keys.length === 1 ? keys : [])]),
      message: `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}: remove ${keys.length > 1 ? 'them' : 'it'} or check the spelling`,
    };
  }
  // zod 4 leaves `issue.input` unset unless asked to report inputs, so the message tells a
  // missing field ("received undefined") from a wrong type.
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return { path: formatPath(issue.path), message: `required: expected ${issue.expected}` };
  }
  return { path: formatPath(issue.path), message: issue.message };
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const list = (items: Iterable<string>): string => [...items].map((s) => `"${s}"`).join(', ') || '(none)';

/** When `scoring.components` is not written, components are those the signals and fit rules name, weight 1 each. */
function withDerivedComponents(config: Config, input: unknown): Config {
  if (isObj(input) && isObj(input.scoring) && input.scoring.components !== undefined) return config;
  const components: Config['scoring']['components'] = {};
  for (const signal of Object.values(config.signals)) components[signal.component] ??= { weight: 1 };
  for (const fit of config.scoring.fit) components[fit.component] ??= { weight: 1 };
  if (Object.keys(components).length === 0) components.engagement = { weight: 1 };
  return { ...config, scoring: { ...config.scoring, components } };
}

function checkSemantics(input: unknown, parsed: Config | undefined, options: ParseConfigOptions): Issue[] {
  if (!isObj(input)) return parsed ? [] : [];
  const issues: Issue[] = [];
  const add = (path: string, message: string, value?: unknown) => issues.push(value === undefined ? { path, message } : { path, message, value });

  const signals = obj(input.signals);
  const signalNames = new Set(Object.keys(signals));
  const scoring = obj(input.scoring);
  const qualification = obj(input.qualification);
  const routing = obj(input.routing);
  const explicitComponents = isObj(scoring.components) ? new Set(Object.keys(scoring.components)) : undefined;
  const usedComponents = new Set<string>();
  for (const def of Object.values(signals)) usedComponents.add(typeof obj(def).component === 'string' ? (obj(def).component as string) : 'engagement');
  for (const fit of arr(scoring.fit)) usedComponents.add(typeof obj(fit).component === 'string' ? (obj(fit).component as string) : 'fit');
  const components = explicitComponents ?? usedComponents;
  const stages = Array.isArray(qualification.stages) ? qualification.stages.filter((s): s is string => typeof s === 'string') : ['new', 'engaged', 'qualified', 'routed', 'accepted', 'converted', 'lost'];
  const stageSet = new Set(stages);
  const tiers = arr(qualification.tiers).map(obj);
  const tierNames = new Set(tiers.map((t) => t.name).filter((n): n is string => typeof n === 'string'));
  const owners = arr(routing.owners).map(obj);
  const ownerIds = new Set(owners.map((o) => o.id).filter((n): n is string => typeof n === 'string'));
  const operators = options.operators;

  // Facts a rule may use, and which keys of `counts`/`signals`/`components` exist.
  const factCheck = (allowed: readonly string[]) => (fact: string, path: string | undefined): string | undefined => {
    if (!allowed.includes(fact)) return `unknown fact "${fact}": this rule can use ${list(allowed)}`;
    const key = firstPathKey(path);
    if ((fact === 'counts' || fact === 'signals') && key !== undefined && !signalNames.has(key)) {
      return `unknown signal "${key}" in path "${path}": declared signals are ${list(signalNames)}`;
    }
    if (fact === 'components' && key !== undefined && !components.has(key)) {
      return `unknown component "${key}" in path "${path}": components are ${list(components)}`;
    }
    return undefined;
  };
  const checkCondition = (condition: unknown, path: string, allowed: readonly string[]) => {
    if (!isObj(condition)) return; // the structural check reports it
    issues.push(...validateCondition(condition, path, { ...(operators ? { operators } : {}), knownFacts: factCheck(allowed) }));
    checkScoreThresholds(condition, path, add);
  };

  // Signals: components, durations that make sense.
  for (const [signal, raw] of Object.entries(signals)) {
    const def = obj(raw);
    const component = typeof def.component === 'string' ? def.component : 'engagement';
    if (explicitComponents && !explicitComponents.has(component)) {
      add(`signals.${signal}.component`, `unknown component "${component}": declare it under scoring.components (declared: ${list(explicitComponents)})`, component);
    }
    for (const key of ['halfLife', 'window'] as const) {
      const d = def[key];
      if (typeof d === 'string' && parseDuration(d) === 0) add(`signals.${signal}.${key}`, 'must be longer than zero');
    }
  }

  // Scoring.
  arr(scoring.modifiers).forEach((raw, i) => {
    const m = obj(raw);
    const base = `scoring.modifiers[${i}]`;
    arr(m.signals).forEach((s, j) => {
      if (typeof s === 'string' && !signalNames.has(s)) add(`${base}.signals[${j}]`, `unknown signal "${s}": declared signals are ${list(signalNames)}`, s);
    });
    if (m.multiply === undefined && m.add === undefined) add(base, 'a modifier needs "multiply" or "add" (or both)');
    if (m.conditions !== undefined) checkCondition(m.conditions, `${base}.conditions`, EVENT_FACTS);
  });
  arr(scoring.fit).forEach((raw, i) => {
    const f = obj(raw);
    const component = typeof f.component === 'string' ? f.component : 'fit';
    if (explicitComponents && !explicitComponents.has(component)) {
      add(`scoring.fit[${i}].component`, `unknown component "${component}": declare it under scoring.components (declared: ${list(explicitComponents)})`, component);
    }
    checkCondition(f.conditions, `scoring.fit[${i}].conditions`, FIT_FACTS);
  });
  if (explicitComponents && explicitComponents.size === 0) add('scoring.components', 'declare at least one component, e.g. { "engagement": { "weight": 1 } }');
  if (isObj(scoring.components)) {
    const weights = Object.values(scoring.components).map((c) => obj(c).weight ?? 1);
    if (weights.length > 0 && weights.every((w) => w === 0)) add('scoring.components', 'at least one component needs a weight above 0');
  }
  uniqueNames(arr(scoring.modifiers), 'scoring.modifiers', 'modifier', add);
  uniqueNames(arr(scoring.fit), 'scoring.fit', 'fit rule', add);

  // Qualification: stages, rules, tiers.
  if (new Set(stages).size !== stages.length) add('qualification.stages', 'stage names must be unique');
  arr(qualification.rules).forEach((raw, i) => {
    const r = obj(raw);
    const base = `qualification.rules[${i}]`;
    if (typeof r.stage === 'string' && !stageSet.has(r.stage)) add(`${base}.stage`, `unknown stage "${r.stage}": stages are ${list(stages)}`, r.stage);
    if (typeof r.tier === 'string' && !tierNames.has(r.tier)) add(`${base}.tier`, `unknown tier "${r.tier}": declare it under qualification.tiers (declared: ${list(tierNames)})`, r.tier);
    if (r.stage === undefined && r.tier === undefined) add(base, 'a qualification rule needs "stage" or "tier" (or both)');
    checkCondition(r.conditions, `${base}.conditions`, LEAD_FACTS);
  });
  uniqueNames(arr(qualification.rules), 'qualification.rules', 'rule', add);
  checkTiers(tiers, add);
  uniqueNames(tiers, 'qualification.tiers', 'tier', add);

  // Routing.
  if (typeof routing.minScore === 'number' && (routing.minScore < 0 || routing.minScore > 100)) {
    add('routing.minScore', 'must be between 0 and 100 (scores are 0–100)', routing.minScore);
  }
  if (typeof routing.stage === 'string' && !stageSet.has(routing.stage)) add('routing.stage', `unknown stage "${routing.stage}": stages are ${list(stages)}`, routing.stage);
  arr(routing.closedStages).forEach((s, i) => {
    if (typeof s === 'string' && !stageSet.has(s)) add(`routing.closedStages[${i}]`, `unknown stage "${s}": stages are ${list(stages)}`, s);
  });
  const seenOwners = new Set<string>();
  owners.forEach((o, i) => {
    if (typeof o.id !== 'string') return;
    if (seenOwners.has(o.id)) add(`routing.owners[${i}].id`, `duplicate owner id "${o.id}": owner ids must be unique`, o.id);
    seenOwners.add(o.id);
  });
  const checkTarget = (raw: unknown, base: string) => {
    const to = obj(raw);
    if (Array.isArray(to.owners)) {
      to.owners.forEach((id, j) => {
        if (typeof id === 'string' && !ownerIds.has(id)) add(`${base}.owners[${j}]`, `unknown owner "${id}": declare it under routing.owners (declared: ${list(ownerIds)})`, id);
      });
    }
    if (to.owners === undefined && to.where === undefined) add(base, 'name candidate "owners" (ids or "target"), a "where" condition on the owner fact, or both');
    if (to.where !== undefined) checkCondition(to.where, `${base}.where`, OWNER_FACTS);
  };
  arr(routing.rules).forEach((raw, i) => {
    const r = obj(raw);
    const base = `routing.rules[${i}]`;
    if (r.conditions !== undefined) checkCondition(r.conditions, `${base}.conditions`, LEAD_FACTS);
    checkTarget(r.to, `${base}.to`);
  });
  if (routing.fallback !== undefined) checkTarget(routing.fallback, 'routing.fallback');
  uniqueNames(arr(routing.rules), 'routing.rules', 'rule', add);

  // Notifications (declared now, used by the notification stage).
  const notifications = obj(input.notifications);
  const templates = obj(notifications.templates);
  for (const [tier, raw] of Object.entries(obj(notifications.tiers))) {
    if (!tierNames.has(tier)) add(`notifications.tiers.${tier}`, `unknown tier "${tier}": declare it under qualification.tiers (declared: ${list(tierNames)})`, tier);
    const template = obj(raw).template;
    if (typeof template === 'string' && !(template in templates)) add(`notifications.tiers.${tier}.template`, `unknown template "${template}": templates are ${list(Object.keys(templates))}`, template);
  }
  for (const [id, raw] of Object.entries(templates)) {
    for (const field of ['subject', 'body'] as const) {
      const text = obj(raw)[field];
      if (typeof text !== 'string') continue;
      for (const match of text.matchAll(/\{\{\s*([^}\s]+)\s*\}\}/g)) {
        const placeholder = match[1] ?? '';
        if (!isKnownPlaceholder(placeholder)) {
          add(`notifications.templates.${id}.${field}`, `unknown placeholder "{{${placeholder}}}": use lead.<field> (${list(SNAPSHOT_FIELDS)}), owner.<field>, profile.<trait> or tenantId`, placeholder);
        }
      }
    }
  }

  // Automations (declared now).
  arr(input.automations).forEach((raw, i) => {
    const a = obj(raw);
    if (typeof a.on === 'string' && !(LIFECYCLE_EVENTS as readonly string[]).includes(a.on)) {
      add(`automations[${i}].on`, `unknown lifecycle event "${a.on}": use one of ${list(LIFECYCLE_EVENTS)}`, a.on);
    }
    if (a.conditions !== undefined) checkCondition(a.conditions, `automations[${i}].conditions`, LEAD_FACTS);
  });

  const leadKey = arr(input.leadKey);
  if (leadKey.length > 0 && leadKey[0] !== 'subjectId') add('leadKey[0]', 'a lead key starts with "subjectId", e.g. ["subjectId"] or ["subjectId", "targetId"]', leadKey[0]);
  if (new Set(leadKey).size !== leadKey.length) add('leadKey', 'fields must not repeat');
  return issues;
}

const SNAPSHOT_FIELDS = ['id', 'tenantId', 'subjectRef', 'targetId', 'score', 'components', 'stage', 'tier', 'firstSeenAt', 'lastSeenAt', 'counts', 'profile'];

function isKnownPlaceholder(placeholder: string): boolean {
  const [head, field] = placeholder.split('.');
  if (head === 'tenantId') return field === undefined;
  if (head === 'lead') return field !== undefined && SNAPSHOT_FIELDS.includes(field);
  return (head === 'owner' || head === 'profile') && field !== undefined;
}

function uniqueNames(items: unknown[], base: string, what: string, add: (path: string, message: string, value?: unknown) => void): void {
  const seen = new Set<string>();
  items.forEach((raw, i) => {
    const n = obj(raw).name;
    if (typeof n !== 'string') return;
    if (seen.has(n)) add(`${base}[${i}].name`, `duplicate ${what} name "${n}": names must be unique (they appear in explanations and audit entries)`, n);
    seen.add(n);
  });
}

/** Tiers are listed highest first; each covers [minScore, maxScore) and none overlap. */
function checkTiers(tiers: Obj[], add: (path: string, message: string, value?: unknown) => void): void {
  let previousMin: number | undefined;
  tiers.forEach((t, i) => {
    const base = `qualification.tiers[${i}]`;
    const min = t.minScore;
    const max = t.maxScore;
    if (typeof min === 'number' && (min < 0 || min > 100)) add(`${base}.minScore`, 'must be between 0 and 100 (scores are 0–100)', min);
    if (typeof max === 'number' && (max < 0 || max > 100)) add(`${base}.maxScore`, 'must be between 0 and 100 (scores are 0–100)', max);
    if (typeof min === 'number' && typeof max === 'number' && max <= min) add(`${base}.maxScore`, `must be above minScore (${min})`, max);
    if (typeof min !== 'number') return;
    if (previousMin !== undefined) {
      if (min >= previousMin) {
        add(`${base}.minScore`, `tiers are listed highest first: ${min} is not below the previous tier's minScore ${previousMin}; reorder the tiers`, min);
      } else if (typeof max === 'number' && max > previousMin) {
        add(`${base}.maxScore`, `overlaps the tier above, which starts at ${previousMin}: set maxScore to at most ${previousMin}`, max);
      }
    }
    // Compare each tier with the lowest start so far, so one misplaced tier does not hide an overlap.
    previousMin = previousMin === undefined ? min : Math.min(previousMin, min);
  });
}

/** A numeric comparison of `score` or a component with a value outside 0–100 can never be meant. */
function checkScoreThresholds(condition: Obj, path: string, add: (path: string, message: string, value?: unknown) => void): void {
  for (const key of ['all', 'any'] as const) {
    arr(condition[key]).forEach((c, i) => checkScoreThresholds(obj(c), `${path}.${key}[${i}]`, add));
  }
  if (isObj(condition.not)) checkScoreThresholds(condition.not, `${path}.not`, add);
  const scoreFact = condition.fact === 'score' || (condition.fact === 'components' && typeof condition.path === 'string');
  const numericOperator = typeof condition.operator === 'string' && /(lessThan|greaterThan)/.test(condition.operator);
  if (scoreFact && numericOperator && typeof condition.value === 'number' && (condition.value < 0 || condition.value > 100)) {
    add(`${path}.value`, `score thresholds are between 0 and 100; ${condition.value} can never be meant`, condition.value);
  }
}
