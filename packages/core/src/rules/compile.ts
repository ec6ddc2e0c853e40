/**
 * leadpipe's evaluator for json-rules-engine's JSON rule format: the same rules, the same results
 * as `new Engine(rules).run(facts)`, synchronously and without promises or per-condition
 * allocation, millions of evaluations a second.
 *
 * How it stays identical to json-rules-engine 7.3.1 (read from its `dist/` sources):
 * - Rules run in priority groups, highest first. Within a group json-rules-engine evaluates the
 *   rules "in parallel" on promise chains, so results and events are recorded in the order the
 *   chains *finish*: by the number of microtask turns each rule's evaluation takes, ties in rule
 *   order. We count those turns exactly (see {@link staticDepth}) and order each group by them:
 *   once, at compile time, when the counts cannot depend on the facts (no condition `priority`
 *   inside `all`/`any`, no `path` on a fact that may be undefined), else at run time.
 * - Inside `all`/`any`, conditions are grouped by `priority` (highest first). Every condition of a
 *   group is evaluated (json-rules-engine uses `Promise.all`); the remaining groups are skipped once
 *   the outcome is known, and skipped conditions carry no `factResult`/`result` in the results.
 * - Leaf results are the operator's raw return value (a custom operator returning `1` shows `1`);
 *   `all`/`any` count only `=== true`, `not` uses `!`, and a rule fires when its result is truthy.
 * - `path` uses jsonpath-plus (`wrap: false`) and is applied only to object fact values; simple
 *   paths (`$.a.b`, `$.a[0]`, `$['a b']`) compile to own-property reads that give the same answers.
 * - A `{ condition: name }` reference that runs is replaced in the results by the named condition
 *   (its `name`/`priority` merged as json-rules-engine's `Object.assign` does).
 *
 * Result shape: nodes that were not evaluated carry no `factResult`/`valueResult`/`result` (as in
 * json-rules-engine, although {@link ConditionResult} types `result` as always present), and a
 * rule's root `all`/`any`/`not` has no `result` in `run()` results (json-rules-engine never sets
 * it; `explain()` adds it). Event objects and, with `recordResults: false`, rule results are shared
 * frozen objects; the four arrays are new on every run.
 *
 * How it is fast: rules compile to JavaScript (or, where code generation is forbidden, closures) that
 * reads each fact once per batch of rules and writes the built-in operators inline; batches stay
 * small enough for V8 to optimise (see {@link UNIT_CHARS}). With `recordResults: false` and a
 * compile-time order, a run only collects which rules fired and derives the four arrays from that.
 *
 * Deliberate differences: unknown operators, malformed conditions, invalid priorities, reference
 * cycles and (with `allowUndefinedConditions: false`) unknown named conditions are compile-time
 * {@link RuleError}s instead of run-time failures; dynamic facts are called depth-first (the
 * engine's promise interleaving can call nested ones later — only visible for impure facts); when
 * several conditions would fail at once the first error we meet is thrown, which may not be the one
 * json-rules-engine rejects with.
 * @module
 */
import { Engine } from 'json-rules-engine';
import { JSONPath } from 'jsonpath-plus';
import { RuleError, type Issue } from '../errors.js';
import { resolveOperator, numberValidator, type OperatorEvaluator } from './operators.js';
import type {
  CompileOptions,
  ConditionResult,
  Facts,
  OperatorFn,
  RuleProperties,
  RuleResult,
  RunResult,
  TopLevelCondition,
} from './types.js';
import { joinPath, validateCondition } from './validate.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- facts and values are arbitrary user data */

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * A condition read a fact that the facts do not define, with `allowUndefinedFacts: false` (the
 * default). Same `code` as json-rules-engine's error, so callers can map either by `code`.
 * @example
 * try { rules.run({}); } catch (e) { if ((e as { code?: string }).code === 'UNDEFINED_FACT') … }
 */
export class UndefinedFactError extends Error {
  /** `'UNDEFINED_FACT'`, as json-rules-engine. */
  readonly code = 'UNDEFINED_FACT' as const;
  /** The fact that was missing. */
  readonly fact: string;
  constructor(fact: string, options?: { cause?: unknown }) {
    super(
      `Undefined fact: "${fact}". Pass it in the facts (a value or a function), or compile with allowUndefinedFacts: true to treat missing facts as undefined.`,
      options,
    );
    this.name = 'UndefinedFactError';
    this.fact = fact;
  }
}

/** `run()`/`test()` met a fact whose value is a Promise; only `runAsync()` can evaluate it. */
export class AsyncFactError extends Error {
  /** `'ASYNC_FACT'`. */
  readonly code = 'ASYNC_FACT' as const;
  /** The fact that produced a Promise. */
  readonly fact: string;
  constructor(fact: string) {
    super(
      `Fact "${fact}" returned a Promise, which the synchronous run()/test() cannot wait for. Use runAsync(), which delegates to json-rules-engine in that case.`,
    );
    this.name = 'AsyncFactError';
    this.fact = fact;
  }
}

/** Thrown inside an evaluation to abandon it when a fact turns out to be asynchronous. */
class AsyncSignal {
  constructor(readonly fact: string) {}
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

const hasOwnProperty = Object.prototype.hasOwnProperty;
const has = (o: object, k: string): boolean => hasOwnProperty.call(o, k);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isThenable(value: unknown): boolean {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as any).then === 'function';
}

/** Copies plain objects and arrays (the JSON parts of a rule); anything else is kept as is. */
function cloneData<T>(value: T): T {
  if (Array.isArray(value)) return value.map(cloneData) as T;
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = cloneData(value[key]);
    return out as T;
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if ((Array.isArray(value) || isPlainObject(value)) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** json-rules-engine's fact lookup: a fact exists when `for…in` over the facts would visit it. */
function isFactDefined(facts: object, name: string): boolean {
  let o: object | null = facts;
  while (o !== null) {
    const d = Object.getOwnPropertyDescriptor(o, name);
    if (d) return d.enumerable === true;
    o = Object.getPrototypeOf(o) as object | null;
  }
  return false;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 0;

/** A structural key for dynamic-fact params (distinguishes `{ k: undefined }` from `{}`, like hash-it). */
function keyOf(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'u';
    case 'number':
      return Object.is(value, -0) ? 'd-0' : `d${value}`;
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 't' : 'f';
    case 'bigint':
      return `i${value}`;
    case 'object': {
      if (value === null) return 'n';
      if (Array.isArray(value)) return `[${value.map(keyOf).join(',')}]`;
      if (isPlainObject(value)) {
        return `{${Object.keys(value)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${keyOf(value[k])}`)
          .join(',')}}`;
      }
      break;
    }
  }
  // Symbols, functions, class instances: by identity.
  const obj = value as object;
  if (typeof value === 'symbol') return `y${String(value)}`;
  let id = identities.get(obj);
  if (id === undefined) identities.set(obj, (id = nextIdentity++));
  return `#${id}`;
}

function paramsKey(fact: string, params: unknown): string {
  return `${fact}\u0000${keyOf(params ?? {})}`;
}

// ---------------------------------------------------------------------------------------------
// Intermediate representation
// ---------------------------------------------------------------------------------------------

/** One side of a comparison that reads a fact: the condition's own fact, or a `value: { fact }` reference. */
interface FactAccess {
  name: string;
  /** The name exists on Object.prototype (`constructor`, `__proto__`…): always use the exact lookup. */
  protoName: boolean;
  /** Cache key of a dynamic fact's value: name + params. */
  key: string;
  params: Record<string, unknown>;
  /** json-rules-engine applies `path` only when it is truthy. */
  hasPath: boolean;
  path: string;
  /** Own-property segments of a simple path; `null` → jsonpath-plus at run time. */
  segs: string[] | null;
}

const LEAF = 0;
const ALL = 1;
const ANY = 2;
const NOT = 3;
const REF = 4;

/** Fast forms of built-in operators the code generator writes inline. */
type FastOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'inArr' | 'notInArr' | 'contains' | 'doesNotContain' | null;

interface LeafIR {
  k: typeof LEAF;
  id: number;
  /** Result fields that do not depend on evaluation (fact, operator, value, path, params, name, priority). */
  base: Record<string, unknown>;
  lhs: FactAccess;
  rhs: FactAccess | null;
  value: unknown;
  op: OperatorEvaluator;
  fast: FastOp;
  /**
   * The operator is pure and cannot throw for this value (`equal`, `notEqual`, `in`/`notIn` with a
   * literal list): once a priority group's outcome is decided, the fast path only has to reproduce
   * the fact lookups' effects (undefined-fact errors, dynamic fact calls), not call the operator.
   */
  skipSafe: boolean;
  /** The operator always returns a boolean (built-ins, and custom operators under a boolean decorator). */
  boolean: boolean;
}
interface BoolIR {
  k: typeof ALL | typeof ANY;
  id: number;
  base: Record<string, unknown>;
  children: IR[];
  /** Children grouped by priority, highest first. */
  sets: IR[][];
}
interface NotIR {
  k: typeof NOT;
  id: number;
  base: Record<string, unknown>;
  child: IR;
}
interface RefIR {
  k: REFK;
  id: number;
  /** Result while not evaluated: `{ condition, name?, priority? }`. */
  base: Record<string, unknown>;
  /** The named condition this reference resolves to (after following reference chains), or null when undefined. */
  target: IR | null;
  /** Name of the last reference in the chain (what the result shows when it is undefined). */
  lastName: string;
  mergedName: unknown;
  mergedPriority: unknown;
}
type REFK = typeof REF;
type IR = LeafIR | BoolIR | NotIR | RefIR;

/** Priority group key, as json-rules-engine's `prioritizeConditions` (fact priorities are always 1 here). */
function conditionPriority(node: Record<string, unknown>): number {
  if (has(node, 'all') || has(node, 'any') || has(node, 'not')) return Number.parseInt(String(node.priority), 10) || 1;
  const p = node.priority;
  return p ? Number(p) : 1;
}

function groupByPriority(nodes: IR[], priorities: number[]): IR[][] {
  const groups = new Map<number, IR[]>();
  nodes.forEach((n, i) => {
    const p = priorities[i] as number;
    const g = groups.get(p);
    if (g) g.push(n);
    else groups.set(p, [n]);
  });
  return [...groups.keys()].sort((a, b) => b - a).map((p) => groups.get(p) as IR[]);
}

/**
 * The failure lists are cut out of full copies when at most one rule in this many fired (see
 * compileRules); a `splice` costs about as much as a dozen `push`es.
 */
const SPLICE_RATIO = 12;

/** Longest literal `in`/`notIn` list written inline (see CodeGen.membership). */
const MAX_INLINE_LIST = 8;

const SAFE_SEGMENT = /^[A-Za-z0-9_ -]+$/;

/**
 * Compiles a simple JSONPath to own-property segments when jsonpath-plus would follow exactly those
 * own properties (no wildcards, filters, slices, recursive descent or special characters).
 */
function compilePath(path: string): string[] | null {
  let segs: string[];
  try {
    segs = JSONPath.toPathArray(path).slice();
  } catch {
    return null;
  }
  if (segs[0] === '$' && segs.length > 1) segs.shift();
  if (segs.length === 0 || segs[0] === '$') return null;
  for (const s of segs) if (typeof s !== 'string' || !SAFE_SEGMENT.test(s)) return null;
  return segs;
}

function resolvePath(value: object, access: FactAccess): unknown {
  const segs = access.segs;
  if (segs === null) return JSONPath({ path: access.path, json: value as any, wrap: false });
  let v: any = value;
  for (let i = 0; i < segs.length; i++) {
    if (!v) return undefined;
    const key = segs[i] as string;
    const next = v[key];
    // Reading first and checking ownership only on a hit keeps misses cheap; an own property
    // holding undefined and a missing one both give undefined, as in jsonpath-plus.
    if (next === undefined || !hasOwnProperty.call(v, key)) return undefined;
    v = next;
  }
  return v;
}

interface Builder {
  nextId: number;
  custom: Record<string, OperatorFn> | null;
  named: Record<string, TopLevelCondition>;
}

function makeAccess(fact: string, params: unknown, path: unknown): FactAccess {
  const p = (params ?? {}) as Record<string, unknown>;
  const hasPath = Boolean(path);
  return {
    name: fact,
    protoName: fact in Object.prototype,
    key: paramsKey(fact, params),
    params: p,
    hasPath,
    path: hasPath ? String(path) : '',
    segs: hasPath ? compilePath(String(path)) : null,
  };
}

function fastOpOf(base: string, decorators: string[], custom: boolean, value: unknown, isRef: boolean): FastOp {
  if (custom || decorators.length > 0) return null;
  switch (base) {
    case 'equal':
      return 'eq';
    case 'notEqual':
      return 'ne';
    case 'lessThan':
      return 'lt';
    case 'lessThanInclusive':
      return 'le';
    case 'greaterThan':
      return 'gt';
    case 'greaterThanInclusive':
      return 'ge';
    case 'in':
      return !isRef && Array.isArray(value) ? 'inArr' : null;
    case 'notIn':
      return !isRef && Array.isArray(value) ? 'notInArr' : null;
    case 'contains':
      return 'contains';
    case 'doesNotContain':
      return 'doesNotContain';
    default:
      return null;
  }
}

function buildIR(node: Record<string, any>, b: Builder, chain: string[]): IR {
  const id = b.nextId++;
  if (has(node, 'all') || has(node, 'any')) {
    const kind = has(node, 'any') ? ANY : ALL; // json-rules-engine checks `any` first
    const list = node[kind === ANY ? 'any' : 'all'] as Record<string, any>[];
    const children = list.map((c) => buildIR(c, b, chain));
    const base: Record<string, unknown> = { priority: Number.parseInt(String(node.priority), 10) || 1 };
    if (node.name) base.name = node.name;
    return { k: kind, id, base, children, sets: groupByPriority(children, list.map(conditionPriority)) };
  }
  if (has(node, 'not')) {
    const base: Record<string, unknown> = { priority: Number.parseInt(String(node.priority), 10) || 1 };
    if (node.name) base.name = node.name;
    return { k: NOT, id, base, child: buildIR(node.not, b, chain) };
  }
  if (has(node, 'condition')) {
    const base: Record<string, unknown> = { condition: node.condition };
    if (node.name) base.name = node.name;
    if (node.priority) base.priority = node.priority;
    // Follow the reference chain: each realised reference Object.assign()s the named condition's
    // own properties onto the reference, so the last own `name`/`priority` in the chain wins.
    let mergedName: unknown = node.name;
    let mergedPriority: unknown = node.priority;
    let name = node.condition as string;
    const seen = [...chain];
    for (;;) {
      if (seen.includes(name)) throw new RuleError([{ path: `conditions.${name}`, message: `shared condition "${name}" refers to itself through ${[...seen, name].join(' → ')}` }]);
      const target = has(b.named, name) ? (b.named[name] as Record<string, any>) : undefined;
      if (!target) return { k: REF, id, base, target: null, lastName: name, mergedName, mergedPriority };
      seen.push(name);
      if (has(target, 'name')) mergedName = target.name;
      if (has(target, 'all') || has(target, 'any') || has(target, 'not')) {
        mergedPriority = Number.parseInt(String(target.priority), 10) || 1;
      } else if (has(target, 'priority')) {
        mergedPriority = target.priority;
      }
      if (has(target, 'condition')) {
        name = target.condition as string;
        continue;
      }
      const ir = buildIR(target, b, seen);
      return { k: REF, id, base, target: ir, lastName: name, mergedName, mergedPriority };
    }
  }
  // A comparison.
  const resolved = resolveOperator(node.operator as string, b.custom);
  if (!resolved.ok) throw new RuleError([{ path: 'operator', message: resolved.message }]);
  const value = node.value;
  const isRef = typeof value === 'object' && value !== null && has(value, 'fact');
  const base: Record<string, unknown> = { fact: node.fact, operator: node.operator, value };
  if (node.path) base.path = node.path;
  if (node.params) base.params = node.params;
  if (node.name) base.name = node.name;
  if (node.priority) base.priority = node.priority;
  const fast = fastOpOf(resolved.base, resolved.decorators, resolved.custom, value, isRef);
  const skipSafe = fast === 'eq' || fast === 'ne' || fast === 'inArr' || fast === 'notInArr';
  return {
    k: LEAF,
    id,
    base,
    lhs: makeAccess(node.fact as string, node.params, node.path),
    rhs: isRef ? makeAccess(value.fact as string, value.params, value.path) : null,
    value,
    op: resolved.evaluate,
    fast,
    skipSafe,
    // `swap` passes its operator's result through; every other decorator returns a boolean.
    boolean: !resolved.custom || resolved.decorators.some((d) => d !== 'swap'),
  };
}

// ---------------------------------------------------------------------------------------------
// Run-time context
// ---------------------------------------------------------------------------------------------

/** Per-node evaluation records, filled only when results are recorded. */
interface Slots {
  /** 1 when the node was evaluated. */
  e: Uint8Array;
  r: unknown[];
  f: unknown[];
  v: unknown[];
}

/** The minimal synchronous almanac handed to dynamic facts. */
export interface SyncAlmanac {
  /** The value of another fact (cached per run), optionally at a JSONPath. Synchronous, unlike json-rules-engine's. */
  factValue(fact: string, params?: Record<string, unknown>, path?: string): unknown;
}

const NOFACT: unique symbol = Symbol('leadpipe.noFact');
/** A lazy fact variable that has not been read yet (generated code). */
const UNSET: unique symbol = Symbol('leadpipe.unset');

/**
 * Per-run state. One is kept per compiled object and reused, so a run allocates nothing for it;
 * a nested (re-entrant) run gets a fresh one.
 */
class Ctx {
  F: Facts = {};
  S: Slots | null = null;
  /** Microtask turns json-rules-engine would take for the node just evaluated. */
  d = 0;
  cache: Map<string, unknown> | null = null;
  busy = false;
  allow: boolean;
  private almanacObj: SyncAlmanac | null = null;
  /** Per-run scratch space of compileRules (see {@link Unit}), sized by the number of rules. */
  FI: Int32Array;
  R: unknown[];
  D: Int32Array;
  constructor(allow: boolean, rules = 0) {
    this.allow = allow;
    this.FI = new Int32Array(rules);
    this.R = new Array<unknown>(rules).fill(undefined);
    this.D = new Int32Array(rules);
  }
  get almanac(): SyncAlmanac {
    if (this.almanacObj === null) {
      this.almanacObj = {
        factValue: (fact, params, path) => {
          const access = makeAccess(fact, params, path);
          let v = slowFact(this, access);
          if (v === NOFACT) return undefined;
          if (access.hasPath && typeof v === 'object' && v !== null) v = resolvePath(v, access);
          return v;
        },
      };
    }
    return this.almanacObj;
  }
}

/** The exact fact lookup: definedness, dynamic facts (cached per run), Promise detection. */
function slowFact(c: Ctx, a: FactAccess): unknown {
  const F = c.F;
  if (!isFactDefined(F, a.name)) {
    if (c.allow) return NOFACT;
    throw new UndefinedFactError(a.name);
  }
  const v = (F as any)[a.name];
  if (typeof v === 'function') {
    const cache = c.cache ?? (c.cache = new Map());
    if (cache.has(a.key)) return cache.get(a.key);
    const out = v(cloneData(a.params), c.almanac);
    cache.set(a.key, out);
    if (isThenable(out)) throw new AsyncSignal(a.name);
    return out;
  }
  if (isThenable(v)) throw new AsyncSignal(a.name);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Closure backend
// ---------------------------------------------------------------------------------------------

/** Evaluates a node: returns json-rules-engine's raw result and leaves its microtask turns in `c.d`. */
type Ev = (c: Ctx) => unknown;

function accessor(a: FactAccess): (c: Ctx) => unknown {
  const name = a.name;
  const protoName = a.protoName;
  const hasPath = a.hasPath;
  return (c) => {
    let v = (c.F as any)[name];
    // Fast path: a present, constant, non-Promise value needs no further lookup work.
    if (v === undefined || protoName || typeof v === 'function' || (typeof v === 'object' && v !== null && typeof v.then === 'function')) {
      v = slowFact(c, a);
    }
    if (hasPath && v !== NOFACT && typeof v === 'object' && v !== null) v = resolvePath(v, a);
    return v;
  };
}

/** Effects-only lookup (see LeafIR.skipSafe): true when the fact is defined. */
function presence(a: FactAccess): (c: Ctx) => boolean {
  const name = a.name;
  const protoName = a.protoName;
  return (c) => {
    const v = (c.F as any)[name];
    if (v === undefined || protoName || typeof v === 'function' || (typeof v === 'object' && v !== null && typeof v.then === 'function')) {
      return slowFact(c, a) !== NOFACT;
    }
    return true;
  };
}

interface ClosureNode {
  ev: Ev;
  /** Effects-only variant for skip-safe leaves; sets `c.d`. */
  eo: ((c: Ctx) => void) | null;
}

/** Records a group's (or reference's) result for `explain`, when this run records results. */
function recordGroup(c: Ctx, id: number, r: boolean): void {
  const S = c.S;
  if (S !== null) {
    S.e[id] = 1;
    S.r[id] = r;
  }
}

function closureOf(ir: IR, top: boolean): ClosureNode {
  switch (ir.k) {
    case LEAF: {
      const { id, op, value } = ir;
      const getL = accessor(ir.lhs);
      const lhsPath = ir.lhs.hasPath;
      const rhs = ir.rhs;
      const getR = rhs ? accessor(rhs) : null;
      const rhsPath = rhs ? rhs.hasPath : false;
      const ev: Ev = (c) => {
        let tick = 0;
        let w: unknown = value;
        // json-rules-engine reads the value side first, then the fact.
        if (getR !== null) {
          w = getR(c);
          if (w === NOFACT) w = undefined;
          else if (rhsPath) tick = 1;
        }
        let x = getL(c);
        if (x === NOFACT) x = undefined;
        else if (lhsPath) tick = 1;
        const r = op(x, w);
        c.d = 3 + tick;
        const S = c.S;
        if (S !== null) {
          S.e[id] = 1;
          S.f[id] = x;
          S.v[id] = w;
          S.r[id] = r;
        }
        return r;
      };
      let eo: ((c: Ctx) => void) | null = null;
      if (ir.skipSafe) {
        const hasL = presence(ir.lhs);
        const hasR = rhs ? presence(rhs) : null;
        eo = (c) => {
          let tick = 0;
          if (hasR !== null && hasR(c) && rhsPath) tick = 1;
          if (hasL(c) && lhsPath) tick = 1;
          c.d = 3 + tick;
        };
      }
      return { ev, eo };
    }
    case ALL:
    case ANY: {
      const par = parClosure(ir);
      if (top) return { ev: par, eo: null };
      const id = ir.id;
      return {
        ev: (c) => {
          const r = par(c) === true;
          c.d += 1;
          recordGroup(c, id, r);
          return r;
        },
        eo: null,
      };
    }
    case NOT: {
      const child = closureOf(ir.child, false).ev;
      const id = ir.id;
      if (top) {
        return {
          ev: (c) => {
            const r = !child(c);
            c.d += 1;
            return r;
          },
          eo: null,
        };
      }
      return {
        ev: (c) => {
          const r = !child(c);
          c.d += 2;
          recordGroup(c, id, r);
          return r;
        },
        eo: null,
      };
    }
    case REF: {
      const id = ir.id;
      if (ir.target === null) {
        return {
          ev: (c) => {
            c.d = 0;
            recordGroup(c, id, false);
            return false;
          },
          eo: null,
        };
      }
      const target = closureOf(ir.target, false).ev;
      return {
        ev: (c) => {
          const r = target(c);
          const S = c.S;
          if (S !== null) S.e[id] = 1;
          return r;
        },
        eo: null,
      };
    }
  }
}

/** json-rules-engine's `prioritizeAndRun` for all/any, with its microtask-turn count. */
function parClosure(ir: BoolIR): Ev {
  const n = ir.children.length;
  if (n === 0) {
    return (c) => {
      c.d = 0;
      return true;
    };
  }
  if (n === 1) return closureOf(ir.children[0] as IR, false).ev;
  const isAll = ir.k === ALL;
  const sets = ir.sets.map((set) => set.map((child) => closureOf(child, false)));
  return (c) => {
    let acc = isAll;
    let d = 0;
    for (let k = 0; k < sets.length; k++) {
      if (acc !== isAll) {
        d += 1; // a skipped group still costs one `.then` turn
        continue;
      }
      const set = sets[k] as ClosureNode[];
      let res = isAll;
      let m = 0;
      for (let j = 0; j < set.length; j++) {
        const node = set[j] as ClosureNode;
        if (node.eo !== null && res !== isAll && c.S === null) {
          node.eo(c);
        } else {
          const r = node.ev(c);
          if (isAll) {
            if (r !== true) res = false;
          } else if (r === true) res = true;
        }
        if (c.d > m) m = c.d;
      }
      acc = res;
      d += 4 + m;
    }
    c.d = d;
    return acc;
  };
}

// ---------------------------------------------------------------------------------------------
// Code-generation backend
// ---------------------------------------------------------------------------------------------

/** Where generated code records per-node results: never, always (into `S`), or into `S` unless it is null. */
type Recording = 'none' | 'always' | 'runtime';

/**
 * Writes conditions as JavaScript. Every value from the config (fact names, path segments, values,
 * operator functions) is passed in the constants array `K` and referenced as `k<index>`; the
 * generated text contains only our own identifiers, integers and fixed operator tokens.
 */
class CodeGen {
  consts: unknown[] = [];
  /** How the code being written records per-node results. */
  rec: Recording = 'runtime';
  /**
   * Whether the code being written counts microtask turns. Off for rules whose count is known at
   * compile time (see {@link staticDepth}): it removes most variables and arithmetic per condition.
   */
  depth = true;
  /** As the option `allowUndefinedFacts`; when false a lookup never yields NOFACT (it throws), so the code does not test for it. */
  allowUndefined = true;
  private constIndex = new Map<unknown, number>();
  vars: string[] = [];
  private seq = 0;
  /** Per-function lazy fact variables, by dynamic-fact cache key (and by key + path). */
  private factVars = new Map<string, string>();
  private pathVars = new Map<string, string>();
  /**
   * Lazy variables certainly read already at the point being written (a lookup that fails throws,
   * so once its statement has run the variable is set). Their lookups are not written again: for
   * the rules benchmark this removes four of every five lookup statements, a third of the code.
   */
  private loaded = new Set<string>();

  k(value: unknown): string {
    let i = this.constIndex.get(value);
    if (i === undefined || typeof value === 'number') {
      // Numbers are not deduplicated through the Map (NaN, -0); everything else by identity.
      i = this.consts.length;
      this.consts.push(value);
      if (typeof value !== 'number') this.constIndex.set(value, i);
    }
    return `k${i}`;
  }
  v(prefix: string): string {
    const name = `${prefix}${this.seq++}`;
    this.vars.push(name);
    return name;
  }
  /** A variable for a turn count, or the constant `0` when turns are not counted. */
  private dv(): string {
    return this.depth ? this.v('d') : '0';
  }
  /** Records per-node results as {@link CodeGen.rec} says. */
  private slots(body: string, lines: string[]): void {
    if (this.rec === 'always') lines.push(body);
    else if (this.rec === 'runtime') lines.push(`if (S !== null) { ${body} }`);
  }
  /** Starts a new generated function: fresh variable and lazy-fact scopes. */
  reset(): void {
    this.vars = [];
    this.factVars = new Map();
    this.pathVars = new Map();
    this.loaded = new Set();
  }
  /** `let` declarations for the current function; lazy fact variables start as `U` (not read yet). */
  declarations(): string {
    const lazy = [...this.factVars.values(), ...this.pathVars.values()];
    const plain = ['t', 'y', ...this.vars];
    return `let ${plain.join(', ')};\n${lazy.length ? `let ${lazy.map((n) => `${n} = U`).join(', ')};\n` : ''}`;
  }

  /**
   * Code that reads a fact at most once per evaluation: the first condition that needs it does the
   * lookup (definedness, dynamic call, Promise check) and later ones reuse the local variable.
   * Speed: with 20 rules reading the same 3 facts this replaces 60 lookups with 3. It is exact
   * because json-rules-engine also snapshots the facts when a run starts and caches dynamic facts
   * by name + params (our variable key); an undefined fact still throws at every condition that
   * reads it (the lookup is repeated until it succeeds).
   * Returns the variable holding the fact value or NOFACT.
   */
  fact(a: FactAccess, lines: string[]): string {
    let fv = this.factVars.get(a.key);
    if (fv === undefined) {
      fv = `fv${this.seq++}`;
      this.factVars.set(a.key, fv);
    }
    if (this.loaded.has(fv)) return fv;
    const guard = a.protoName
      ? 'true'
      : `${fv} === undefined || typeof ${fv} === 'function' || (typeof ${fv} === 'object' && ${fv} !== null && typeof ${fv}.then === 'function')`;
    lines.push(`if (${fv} === U) { ${fv} = F[${this.k(a.name)}]; if (${guard}) ${fv} = slowFact(c, ${this.k(a)}); }`);
    this.loaded.add(fv);
    return fv;
  }

  /** Code that leaves one comparison side's value in `out` (undefined for a missing fact), setting `t = 1` for a path turn. */
  side(a: FactAccess, out: string, lines: string[]): void {
    const fv = this.fact(a, lines);
    if (!a.hasPath) {
      lines.push(this.allowUndefined ? `${out} = ${fv} === NOFACT ? undefined : ${fv};` : `${out} = ${fv};`);
      return;
    }
    const pk = `${a.key}\u0000${a.path}`;
    let pv = this.pathVars.get(pk);
    if (pv === undefined) {
      pv = `pv${this.seq++}`;
      this.pathVars.set(pk, pv);
    }
    const defined = this.allowUndefined ? `if (${fv} === NOFACT) ${out} = undefined; else {` : '{';
    lines.push(`${defined}${this.depth ? ' t = 1;' : ''}`);
    if (!this.loaded.has(pv)) {
      lines.push(`if (${pv} === U) { ${pv} = ${fv}; if (typeof ${pv} === 'object' && ${pv} !== null) {`);
      if (a.segs === null) {
        lines.push(`${pv} = resolvePath(${pv}, ${this.k(a)});`);
      } else {
        // Own-property reads, as jsonpath-plus follows simple segments; a falsy value stops the walk.
        a.segs.forEach((seg, i) => {
          const ks = this.k(seg);
          const stop = i === 0 ? '' : `!${pv} ? undefined : `;
          lines.push(`${pv} = ${stop}((y = ${pv}[${ks}]) !== undefined && hop.call(${pv}, ${ks}) ? y : undefined);`);
        });
      }
      lines.push('} }');
      // With undefined facts allowed this ran only if the fact is defined.
      if (!this.allowUndefined) this.loaded.add(pv);
    }
    lines.push(`${out} = ${pv}; }`);
  }

  /** Emits a node; returns the expressions of its raw result and its microtask-turn count. */
  node(ir: IR, top: boolean, lines: string[]): { r: string; d: string } {
    switch (ir.k) {
      case LEAF:
        return this.leaf(ir, lines);
      case ALL:
      case ANY: {
        const p = this.par(ir, lines);
        if (top) return p;
        const r = this.v('r');
        const d = this.dv();
        lines.push(`${r} = ${p.r} === true;`);
        if (this.depth) lines.push(`${d} = ${p.d} + 1;`);
        this.slots(`S.e[${ir.id}] = 1; S.r[${ir.id}] = ${r};`, lines);
        return { r, d };
      }
      case NOT: {
        const ch = this.node(ir.child, false, lines);
        const r = this.v('r');
        const d = this.dv();
        lines.push(`${r} = !${ch.r};`);
        if (this.depth) lines.push(`${d} = ${ch.d} + ${top ? 1 : 2};`);
        if (!top) this.slots(`S.e[${ir.id}] = 1; S.r[${ir.id}] = ${r};`, lines);
        return { r, d };
      }
      case REF: {
        if (ir.target === null) {
          this.slots(`S.e[${ir.id}] = 1; S.r[${ir.id}] = false;`, lines);
          return { r: 'false', d: '0' };
        }
        const t = this.node(ir.target, false, lines);
        this.slots(`S.e[${ir.id}] = 1;`, lines);
        return t;
      }
    }
  }

  leaf(ir: LeafIR, lines: string[], r = this.v('r'), d = this.dv()): { r: string; d: string } {
    const x = this.v('x');
    const w = this.v('w');
    const pathTurn = this.depth && (ir.lhs.hasPath || (ir.rhs !== null && ir.rhs.hasPath));
    if (pathTurn) lines.push('t = 0;');
    // json-rules-engine reads the value side first, then the fact.
    if (ir.rhs) this.side(ir.rhs, w, lines);
    else lines.push(`${w} = ${this.k(ir.value)};`);
    this.side(ir.lhs, x, lines);
    // Inline forms of the built-ins (speed: no call, no validator for number facts); the operator
    // tokens are ours, never from the config.
    const cmp = { lt: '<', le: '<=', gt: '>', ge: '>=' } as const;
    switch (ir.fast) {
      case 'eq':
        lines.push(`${r} = ${x} === ${w};`);
        break;
      case 'ne':
        lines.push(`${r} = ${x} !== ${w};`);
        break;
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge': {
        const o = cmp[ir.fast];
        lines.push(`${r} = typeof ${x} === 'number' ? ${x} === ${x} && ${x} ${o} ${w} : (numOk(${x}) && ${x} ${o} ${w});`);
        break;
      }
      case 'inArr':
      case 'notInArr': {
        const test = this.membership(ir.value as unknown[], x);
        if (test === null) lines.push(`${r} = ${w}.indexOf(${x}) ${ir.fast === 'inArr' ? '> -1' : '=== -1'};`);
        else lines.push(`${r} = ${ir.fast === 'inArr' ? test : `!(${test})`};`);
        break;
      }
      case 'contains':
        lines.push(`${r} = Array.isArray(${x}) && ${x}.indexOf(${w}) > -1;`);
        break;
      case 'doesNotContain':
        lines.push(`${r} = Array.isArray(${x}) && ${x}.indexOf(${w}) === -1;`);
        break;
      default:
        lines.push(`${r} = ${this.k(ir.op)}(${x}, ${w});`);
    }
    if (this.depth) lines.push(pathTurn ? `${d} = 3 + t;` : `${d} = 3;`);
    this.slots(`S.e[${ir.id}] = 1; S.f[${ir.id}] = ${x}; S.v[${ir.id}] = ${w}; S.r[${ir.id}] = ${r};`, lines);
    return { r, d };
  }

  /**
   * `x === k1 || x === k2 …` for a short frozen literal list: exactly `list.indexOf(x) > -1`
   * (strict equality, holes never match) without the call. Speed: the `in` condition of the rules
   * benchmark went from a builtin call to two or three pointer comparisons. A list that is not frozen
   * could change after compiling, so it keeps `indexOf`.
   */
  private membership(list: unknown[], x: string): string | null {
    if (!Object.isFrozen(list) || list.length > MAX_INLINE_LIST) return null;
    const tests: string[] = [];
    for (let i = 0; i < list.length; i++) if (i in list) tests.push(`${x} === ${this.k(list[i])}`);
    return tests.length === 0 ? 'false' : tests.join(' || ');
  }

  /** Effects-only form of a skip-safe leaf (see LeafIR.skipSafe): the lookups, not the operator. */
  eo(ir: LeafIR, d: string, lines: string[]): void {
    const pathTurn = this.depth && (ir.lhs.hasPath || (ir.rhs !== null && ir.rhs.hasPath));
    if (pathTurn) lines.push('t = 0;');
    for (const a of ir.rhs ? [ir.rhs, ir.lhs] : [ir.lhs]) {
      const fv = this.fact(a, lines);
      if (pathTurn && a.hasPath) lines.push(`if (${fv} !== NOFACT) t = 1;`);
    }
    if (this.depth) lines.push(pathTurn ? `${d} = 3 + t;` : `${d} = 3;`);
  }

  par(ir: BoolIR, lines: string[]): { r: string; d: string } {
    const n = ir.children.length;
    if (n === 0) return { r: 'true', d: '0' };
    if (n === 1) return this.node(ir.children[0] as IR, false, lines);
    const isAll = ir.k === ALL;
    const depth = this.depth;
    const a = this.v('a');
    const d = this.dv();
    const s = this.v('s');
    const m = depth ? this.v('m') : '';
    lines.push(depth ? `${a} = ${isAll}; ${d} = 0;` : `${a} = ${isAll};`);
    const combine = (r: string): string => (isAll ? `if (${r} !== true) ${s} = false;` : `if (${r} === true) ${s} = true;`);
    ir.sets.forEach((set, k) => {
      // The first group always runs; later ones only while the outcome is open.
      const before = k === 0 ? null : new Set(this.loaded);
      lines.push(`${k === 0 ? '{' : `if (${a} === ${isAll}) {`} ${s} = ${isAll};${depth ? ` ${m} = 0;` : ''}`);
      set.forEach((child, j) => {
        if (child.k === LEAF && child.skipSafe && j > 0 && this.rec !== 'always') {
          // Speed: once this group's outcome is decided (and results are not recorded), only the
          // lookups' effects and turn count matter, not the operator.
          const r = this.v('r');
          const cd = this.dv();
          lines.push(this.rec === 'none' ? `if (${s} !== ${isAll}) {` : `if (S === null && ${s} !== ${isAll}) {`);
          const start = new Set(this.loaded);
          this.eo(child, cd, lines);
          const afterEo = this.loaded;
          this.loaded = start;
          lines.push('} else {');
          this.leaf(child, lines, r, cd);
          lines.push(combine(r));
          lines.push('}');
          this.loaded = new Set([...afterEo].filter((v) => this.loaded.has(v)));
          if (depth) lines.push(`if (${cd} > ${m}) ${m} = ${cd};`);
        } else {
          const res = this.node(child, false, lines);
          lines.push(combine(res.r));
          if (depth) lines.push(`if (${res.d} > ${m}) ${m} = ${res.d};`);
        }
      });
      // A decided `all`/`any` skips the remaining groups, each still costing one `.then` turn.
      lines.push(depth ? `${a} = ${s}; ${d} += 4 + ${m}; }${k === 0 ? '' : ` else ${d} += 1;`}` : `${a} = ${s}; }`);
      if (before !== null) this.loaded = before;
    });
    return { r: a, d };
  }
}

/**
 * The microtask turns json-rules-engine takes to evaluate a node when that number does not depend on
 * the facts, else `null`. It varies only with skipped priority groups inside `all`/`any` and, when
 * undefined facts are allowed, with whether a fact that has a `path` is defined (see closureOf).
 */
function staticDepth(ir: IR, top: boolean, allowUndefinedFacts: boolean): number | null {
  switch (ir.k) {
    case LEAF: {
      const path = ir.lhs.hasPath || (ir.rhs !== null && ir.rhs.hasPath);
      if (!path) return 3;
      return allowUndefinedFacts ? null : 4;
    }
    case ALL:
    case ANY: {
      const n = ir.children.length;
      let d: number | null;
      if (n === 0) d = 0;
      else if (n === 1) d = staticDepth(ir.children[0] as IR, false, allowUndefinedFacts);
      else if (ir.sets.length > 1) d = null;
      else {
        let m = 0;
        for (const child of ir.children) {
          const cd = staticDepth(child, false, allowUndefinedFacts);
          if (cd === null) return null;
          if (cd > m) m = cd;
        }
        d = 4 + m;
      }
      return d === null ? null : top ? d : d + 1;
    }
    case NOT: {
      const d = staticDepth(ir.child, false, allowUndefinedFacts);
      return d === null ? null : d + (top ? 1 : 2);
    }
    case REF:
      return ir.target === null ? 0 : staticDepth(ir.target, false, allowUndefinedFacts);
  }
}

/** True when a node's raw result is always a boolean (custom operators may return anything). */
function alwaysBoolean(ir: IR): boolean {
  switch (ir.k) {
    case LEAF:
      return ir.boolean;
    case ALL:
    case ANY:
      // A single condition's raw result passes through unchanged, as in json-rules-engine.
      return ir.children.length !== 1 || alwaysBoolean(ir.children[0] as IR);
    case NOT:
      return true;
    case REF:
      return ir.target === null || alwaysBoolean(ir.target);
  }
}

/** A group's rules in json-rules-engine's order from their run-time turn counts (stable). */
function orderByTurns(group: number[], D: Int32Array): number[] {
  const first = D[group[0] as number];
  if (group.every((i) => D[i] === first)) return group;
  return group.map((i, j) => [i, j] as const).sort((x, y) => (D[x[0]] as number) - (D[y[0]] as number) || x[1] - y[1]).map((x) => x[0]);
}

/** Sorts `FI[0..n)` by `position` (insertion sort: few rules fire). */
function sortByPosition(FI: Int32Array, n: number, position: Int32Array): void {
  for (let j = 1; j < n; j++) {
    const v = FI[j] as number;
    const p = position[v] as number;
    let k = j - 1;
    while (k >= 0 && (position[FI[k] as number] as number) > p) {
      FI[k + 1] = FI[k] as number;
      k--;
    }
    FI[k + 1] = v;
  }
}

function compileGenerated(g: CodeGen, fns: string[], names: string[]): unknown[] {
  const constDecl = g.consts.map((_, i) => `k${i} = K[${i}]`).join(', ');
  const body = `'use strict';\nconst { U, NOFACT, slowFact, resolvePath, numOk, hop } = H;\n${constDecl ? `const ${constDecl};\n` : ''}${fns.join('\n')}\nreturn [${names.join(', ')}];`;
  // Code generation is the point of 'codegen' mode; every config value reaches it only through K.
  const factory = new Function('K', 'H', body) as (k: unknown[], h: unknown) => unknown[];
  return factory(g.consts, { U: UNSET, NOFACT, slowFact, resolvePath, numOk: numberValidator, hop: hasOwnProperty });
}

/** One generated function for a condition: `(c) => raw`, turns in `c.d`. */
function generateCondition(top: IR, allowUndefinedFacts: boolean): Ev {
  const g = new CodeGen();
  g.allowUndefined = allowUndefinedFacts;
  g.reset();
  const lines: string[] = [];
  const res = g.node(top, true, lines);
  const fn = `function cond(c) {\nconst F = c.F, S = c.S;\n${g.declarations()}${lines.join('\n')}\nc.d = ${res.d};\nreturn ${res.r};\n}`;
  return compileGenerated(g, [fn], ['cond'])[0] as Ev;
}

/**
 * Most characters of generated code per function. Speed: one function for the 200 rules of the rules
 * benchmark (~400,000 characters, ~200 KB of bytecode) ran 30× slower than the hand-written loop,
 * because V8 does not optimise functions over 60 KB of bytecode; in batches of this size (about
 * 25 KB of bytecode each: half a byte per character for this code) it runs about as fast. A new
 * batch re-reads the facts it uses, once.
 */
const UNIT_CHARS = 48_000;

/**
 * Generated functions evaluating the rules in `seq` order, in batches of about {@link UNIT_CHARS}
 * characters (see {@link Unit}).
 */
function generateUnits(tops: IR[], seq: number[], plan: EvalPlan): Unit[] {
  const g = new CodeGen();
  g.allowUndefined = plan.allowUndefinedFacts;
  g.rec = plan.record ? 'always' : 'none';
  const fns: string[] = [];
  const names: string[] = [];
  let lines: string[] = [];
  let size = 0;
  let counted = 0;
  const flush = (): void => {
    const name = `unit${names.length}`;
    fns.push(`function ${name}(c, nf) {\nconst F = c.F, S = c.S, FI = c.FI, R = c.R, D = c.D;\n${g.declarations()}${lines.join('\n')}\nreturn nf;\n}`);
    names.push(name);
    g.reset();
    lines = [];
    size = 0;
    counted = 0;
  };
  g.reset();
  for (const i of seq) {
    const top = tops[i] as IR;
    g.depth = plan.dynamic[i] === 1;
    const res = g.node(top, true, lines);
    if (plan.fired) lines.push(`if (${res.r} === true) FI[nf++] = ${i};`);
    else {
      lines.push(`R[${i}] = ${res.r};`);
      if (g.depth) lines.push(`D[${i}] = ${res.d};`);
    }
    for (; counted < lines.length; counted++) size += (lines[counted] as string).length;
    if (size >= UNIT_CHARS) flush();
  }
  if (size > 0 || names.length === 0) flush();
  return compileGenerated(g, fns, names) as Unit[];
}

/**
 * Evaluates a batch of rules: with `fired`, appends the indexes of the rules that fired to `c.FI`
 * from position `nf` and returns the new count; otherwise stores each rule's raw result in `c.R` (and
 * its turn count in `c.D` where the order depends on it) and returns `nf` unchanged.
 */
type Unit = (c: Ctx, nf: number) => number;

/** How a rule set is evaluated; see compileRules. */
interface EvalPlan {
  record: boolean;
  allowUndefinedFacts: boolean;
  /** Only which rules fired is collected (every rule's result is boolean and the emission order is static). */
  fired: boolean;
  /** Per rule: 1 when its turn count must be computed at run time. */
  dynamic: Uint8Array;
}

function codegenAvailable(): boolean {
  try {
    // Feature test: throws an EvalError under --disallow-code-generation-from-strings.
    return (new Function('return 1') as () => number)() === 1;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/** Builds json-rules-engine's result tree for a node from the evaluation records. */
function buildResult(ir: IR, S: Slots, top: boolean): ConditionResult {
  const evaluated = S.e[ir.id] === 1;
  switch (ir.k) {
    case LEAF: {
      const o: Record<string, unknown> = Object.assign({}, ir.base);
      if (evaluated) {
        const f = S.f[ir.id];
        const v = S.v[ir.id];
        const r = S.r[ir.id];
        if (f !== undefined) o.factResult = f;
        if (v !== undefined) o.valueResult = v;
        if (r !== undefined) o.result = r;
      }
      return o as ConditionResult;
    }
    case ALL:
    case ANY: {
      const o: Record<string, unknown> = Object.assign({}, ir.base);
      o[ir.k === ALL ? 'all' : 'any'] = ir.children.map((c) => buildResult(c, S, false));
      if (evaluated && !top) o.result = S.r[ir.id];
      return o as ConditionResult;
    }
    case NOT: {
      const o: Record<string, unknown> = Object.assign({}, ir.base);
      o.not = buildResult(ir.child, S, false);
      if (evaluated && !top) o.result = S.r[ir.id];
      return o as ConditionResult;
    }
    case REF: {
      if (!evaluated) return Object.assign({}, ir.base) as ConditionResult;
      const o: Record<string, unknown> = ir.target === null ? { condition: ir.lastName, result: false } : (buildResult(ir.target, S, false) as Record<string, unknown>);
      delete o.name;
      delete o.priority;
      if (ir.mergedName) o.name = ir.mergedName;
      if (ir.mergedPriority) o.priority = ir.mergedPriority;
      return o as ConditionResult;
    }
  }
}

function newSlots(n: number): Slots {
  return { e: new Uint8Array(n), r: new Array(n), f: new Array(n), v: new Array(n) };
}

/** Converts one of json-rules-engine's condition objects (after a run) to our result shape. */
function fromEngineCondition(c: any): ConditionResult {
  const o: Record<string, unknown> = {};
  for (const op of ['any', 'all', 'not'] as const) {
    if (has(c, op)) {
      if (c.priority) o.priority = c.priority;
      if (c.name) o.name = c.name;
      o[op] = Array.isArray(c[op]) ? c[op].map(fromEngineCondition) : fromEngineCondition(c[op]);
      if (c.result !== undefined) o.result = c.result;
      return o as ConditionResult;
    }
  }
  if (c.priority) o.priority = c.priority;
  if (c.name) o.name = c.name;
  if (has(c, 'condition')) {
    o.condition = c.condition;
    if (c.result !== undefined) o.result = c.result;
    return o as ConditionResult;
  }
  o.fact = c.fact;
  o.operator = c.operator;
  o.value = c.value;
  if (c.path) o.path = c.path;
  if (c.params) o.params = c.params;
  if (c.factResult !== undefined) o.factResult = c.factResult;
  if (c.valueResult !== undefined) o.valueResult = c.valueResult;
  if (c.result !== undefined) o.result = c.result;
  return o as ConditionResult;
}

function fromEngineRuleResult(r: any): RuleResult {
  const out: RuleResult = { priority: r.priority, event: r.event, result: r.result, conditions: fromEngineCondition(r.conditions) };
  if (r.name !== undefined) out.name = r.name;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** A compiled rule set. Safe to share and to run concurrently; every run is independent. */
export interface CompiledRules {
  /**
   * Evaluates every rule synchronously; the same events, results and order as json-rules-engine's
   * `engine.run(facts)`. Throws {@link AsyncFactError} if a fact is (or returns) a Promise, and
   * {@link UndefinedFactError} for a missing fact unless `allowUndefinedFacts`.
   */
  run(facts: Facts): RunResult;
  /** As {@link CompiledRules.run}, but facts may be asynchronous: then a fresh json-rules-engine `Engine` evaluates this call. */
  runAsync(facts: Facts): Promise<RunResult>;
  /** The implementation in use (`'auto'` resolves to one of these). */
  readonly mode: 'codegen' | 'closure';
}

/** A compiled condition (the `conditions` of one rule). */
export interface CompiledCondition {
  /** True when a rule with this condition would fire. No results are recorded; nothing is allocated for constant facts. */
  test(facts: Facts): boolean;
  /** Evaluates and returns per-condition results (json-rules-engine's shape, plus `result` on the root). */
  explain(facts: Facts): ConditionResult;
  /** The implementation in use. */
  readonly mode: 'codegen' | 'closure';
}

interface Prepared {
  custom: Record<string, OperatorFn> | null;
  named: Record<string, TopLevelCondition>;
  allowUndefinedFacts: boolean;
  allowUndefinedConditions: boolean;
  mode: 'codegen' | 'closure';
  recordResults: boolean;
}

function prepare(options: CompileOptions, issues: Issue[]): Prepared {
  const custom = options.operators ? { ...options.operators } : null;
  if (custom) {
    for (const [name, fn] of Object.entries(custom)) {
      if (!name) issues.push({ path: 'operators', message: 'a custom operator needs a non-empty name' });
      if (typeof fn !== 'function') issues.push({ path: joinPath('operators', name), message: 'a custom operator must be a function (factValue, value) => boolean' });
    }
  }
  const named = (cloneData(options.conditions ?? {}) ?? {}) as Record<string, TopLevelCondition>;
  const allowUndefinedConditions = options.allowUndefinedConditions ?? true;
  for (const [name, cond] of Object.entries(named)) {
    issues.push(
      ...validateCondition(cond, joinPath('conditions', name), {
        operators: custom ? Object.keys(custom) : [],
        conditions: allowUndefinedConditions ? undefined : Object.keys(named),
      }),
    );
  }
  const requested = options.mode ?? 'auto';
  let mode: 'codegen' | 'closure';
  if (requested === 'closure') mode = 'closure';
  else if (requested === 'codegen') mode = 'codegen';
  else mode = codegenAvailable() ? 'codegen' : 'closure';
  return {
    custom,
    named: deepFreeze(named),
    allowUndefinedFacts: options.allowUndefinedFacts ?? false,
    allowUndefinedConditions,
    mode,
    recordResults: options.recordResults ?? true,
  };
}

/** Closure-mode equivalent of {@link generateUnits}: one unit for all rules. */
function closureUnits(tops: IR[], seq: number[], plan: EvalPlan): Unit[] {
  const evs = seq.map((i) => closureOf(tops[i] as IR, true).ev);
  const n = seq.length;
  if (plan.fired) {
    return [
      (c, nf) => {
        const FI = c.FI;
        for (let j = 0; j < n; j++) if ((evs[j] as Ev)(c) === true) FI[nf++] = seq[j] as number;
        return nf;
      },
    ];
  }
  return [
    (c, nf) => {
      const { R, D } = c;
      for (let j = 0; j < n; j++) {
        const i = seq[j] as number;
        R[i] = (evs[j] as Ev)(c);
        D[i] = c.d;
      }
      return nf;
    },
  ];
}

/** What a released context points at instead of the last run's facts (shared: a fresh `{}` per run was garbage per evaluation). */
const NO_FACTS: Facts = Object.freeze({}) as Facts;

function makeCtxPool(allow: boolean, rules = 0): { acquire(facts: Facts, S: Slots | null): Ctx; release(c: Ctx): void } {
  const shared = new Ctx(allow, rules);
  return {
    acquire(facts, S) {
      // Reusing one context avoids an allocation per run; a re-entrant run (a dynamic fact calling
      // back into the same compiled rules) gets its own.
      const c = shared.busy ? new Ctx(allow, rules) : shared;
      c.busy = true;
      c.F = facts ?? {};
      c.S = S;
      c.cache = null;
      return c;
    },
    release(c) {
      c.busy = false;
      c.F = NO_FACTS;
      c.S = null;
      c.cache = null;
    },
  };
}

/**
 * Compiles json-rules-engine rules into a synchronous evaluator with identical results.
 * Throws a {@link RuleError} listing every problem (unknown operators, malformed conditions…).
 * @example
 * const rules = compileRules([
 *   { name: 'hot', priority: 10, conditions: { all: [{ fact: 'score', operator: 'greaterThanInclusive', value: 80 }] }, event: { type: 'hot' } },
 * ]);
 * rules.run({ score: 90 }).events; // [{ type: 'hot' }]
 */
export function compileRules(rules: RuleProperties[], options: CompileOptions = {}): CompiledRules {
  const issues: Issue[] = [];
  const prep = prepare(options, issues);
  if (!Array.isArray(rules)) throw new RuleError([{ path: 'rules', message: 'rules must be an array', value: typeof rules }]);
  const source = rules.map((r) => cloneData(r));
  const namedNames = Object.keys(prep.named);
  source.forEach((rule, i) => {
    const path = `rules[${i}]`;
    if (!isPlainObject(rule)) {
      issues.push({ path, message: 'a rule must be an object with conditions and event' });
      return;
    }
    if (!has(rule, 'conditions')) issues.push({ path: joinPath(path, 'conditions'), message: 'missing "conditions"' });
    else
      issues.push(
        ...validateCondition(rule.conditions, joinPath(path, 'conditions'), {
          operators: prep.custom ? Object.keys(prep.custom) : [],
          conditions: prep.allowUndefinedConditions ? undefined : namedNames,
        }),
      );
    const ev = rule.event as unknown;
    if (!isPlainObject(ev) || !has(ev, 'type')) issues.push({ path: joinPath(path, 'event'), message: 'the event must be an object with a "type"' });
    const priority = Number.parseInt(String(rule.priority || 1), 10);
    if (!(priority > 0)) issues.push({ path: joinPath(path, 'priority'), message: 'priority must be a positive integer (higher runs first)', value: rule.priority });
  });
  if (issues.length > 0) throw new RuleError(issues);

  const b: Builder = { nextId: 0, custom: prep.custom, named: prep.named };
  const tops = source.map((rule, i) => {
    try {
      return buildIR(rule.conditions as unknown as Record<string, any>, b, []);
    } catch (e) {
      if (e instanceof RuleError) throw new RuleError(e.issues.map((x) => ({ ...x, path: `rules[${i}].conditions: ${x.path}` })));
      throw e;
    }
  });
  const slotCount = b.nextId;

  interface RuleMeta {
    name: unknown;
    hasName: boolean;
    priority: number;
    event: { type: string; params?: Record<string, unknown> };
    blank: ConditionResult;
    /** Shared results used when results are not recorded (true / false outcomes). */
    pass: RuleResult;
    fail: RuleResult;
  }
  const empty = newSlots(slotCount);
  const metas: RuleMeta[] = source.map((rule, i) => {
    const ev = rule.event as { type: string; params?: Record<string, unknown> };
    const event: { type: string; params?: Record<string, unknown> } = { type: ev.type };
    if (ev.params) event.params = ev.params;
    deepFreeze(event);
    const hasName = Boolean(rule.name) || (rule.name as unknown) === 0;
    const priority = Number.parseInt(String(rule.priority || 1), 10);
    const blank = deepFreeze(buildResult(tops[i] as IR, empty, true));
    const mk = (result: boolean): RuleResult => {
      const r: RuleResult = { priority, event, result, conditions: blank };
      if (hasName) r.name = rule.name;
      return Object.freeze(r);
    };
    return { name: rule.name, hasName, priority, event, blank, pass: mk(true), fail: mk(false) };
  });
  // Priority groups, highest first; rule order within a group.
  const groupMap = new Map<number, number[]>();
  metas.forEach((m, i) => {
    const g = groupMap.get(m.priority);
    if (g) g.push(i);
    else groupMap.set(m.priority, [i]);
  });
  const groups = [...groupMap.keys()].sort((a, b2) => b2 - a).map((p) => groupMap.get(p) as number[]);
  const record = prep.recordResults;
  const allow = prep.allowUndefinedFacts;
  // Evaluation order: priority groups highest first, rule order within a group.
  const seq = groups.flat();
  // json-rules-engine records a group's rules in the order their promise chains finish: fewer
  // microtask turns first, ties in rule order. When every rule's turn count is known at compile time
  // that order is fixed here; otherwise (`null`) it is sorted at run time.
  const orders = groups.map((group): number[] | null => {
    const depths = group.map((i) => staticDepth(tops[i] as IR, true, allow));
    if (depths.some((d) => d === null)) return null;
    return group
      .map((_, j) => j)
      .sort((x, y) => (depths[x] as number) - (depths[y] as number) || x - y)
      .map((j) => group[j] as number);
  });
  const dynamic = new Uint8Array(source.length);
  groups.forEach((group, g) => {
    if (orders[g] === null) for (const i of group) dynamic[i] = 1;
  });
  const booleans = tops.every(alwaysBoolean);
  const plan: EvalPlan = { record, allowUndefinedFacts: allow, fired: !record && booleans && orders.every((o) => o !== null), dynamic };
  const units = prep.mode === 'codegen' ? generateUnits(tops, seq, plan) : closureUnits(tops, seq, plan);
  const pool = makeCtxPool(allow, source.length);

  const emit = (out: RunResult, S: Slots | null, i: number, raw: unknown): void => {
    const meta = metas[i] as RuleMeta;
    let rr: RuleResult;
    if (S !== null) {
      rr = { priority: meta.priority, event: meta.event, result: raw as boolean, conditions: buildResult(tops[i] as IR, S, true) };
      if (meta.hasName) rr.name = meta.name as string;
    } else if (raw === true) rr = meta.pass; // Speed: shared frozen results, no allocation per rule.
    else if (raw === false) rr = meta.fail;
    else {
      rr = { priority: meta.priority, event: meta.event, result: raw as boolean, conditions: meta.blank };
      if (meta.hasName) rr.name = meta.name as string;
    }
    if (raw) {
      out.events.push(meta.event);
      out.results.push(rr);
    } else {
      out.failureEvents.push(meta.event);
      out.failureResults.push(rr);
    }
  };

  /** The general assembly: every rule's raw result from `c.R`, groups ordered by turn counts from `c.D` where needed. */
  const assembleRaw = (c: Ctx): RunResult => {
    const out: RunResult = { events: [], results: [], failureEvents: [], failureResults: [] };
    const { R, D, S } = c;
    for (let g = 0; g < groups.length; g++) {
      const order = orders[g] ?? orderByTurns(groups[g] as number[], D);
      for (let j = 0; j < order.length; j++) emit(out, S, order[j] as number, R[order[j] as number]);
    }
    return out;
  };

  // The fast assembly (plan.fired): only the fired rules are known; everything else follows from
  // the static emission order.
  const emitted = orders.flatMap((o) => o ?? []);
  const position = new Int32Array(source.length);
  emitted.forEach((i, p) => (position[i] = p));
  const inOrder = emitted.every((i, p) => i === seq[p]);
  const ruleEvents = metas.map((m) => m.event);
  const rulePasses = metas.map((m) => m.pass);
  const emittedEvents = emitted.map((i) => (metas[i] as RuleMeta).event);
  const emittedFails = emitted.map((i) => (metas[i] as RuleMeta).fail);
  const n = emitted.length;
  const assembleFired = (c: Ctx, nf: number): RunResult => {
    const FI = c.FI;
    if (!inOrder) sortByPosition(FI, nf, position);
    // Speed: arrays allocated at their final length and filled by index, rather than pushed to
    // (rules-any-20, ~15 of 20 rules firing: 3.15M → 3.5M runs/s, `pnpm bench`-style measurement).
    const events: RunResult['events'] = new Array(nf);
    const results: RuleResult[] = new Array(nf);
    for (let j = 0; j < nf; j++) {
      const i = FI[j] as number;
      events[j] = ruleEvents[i] as RuleMeta['event'];
      results[j] = rulePasses[i] as RuleResult;
    }
    let failureEvents: RunResult['failureEvents'];
    let failureResults: RuleResult[];
    if (nf === 0) {
      failureEvents = emittedEvents.slice();
      failureResults = emittedFails.slice();
    } else if (nf * SPLICE_RATIO <= n) {
      // Speed: copying the full lists and cutting out the few fired rules is ~3.5× faster at 200
      // rules than pushing the other ~195 one by one (slice and splice move memory in bulk):
      // rules-200 went from 395k to 550k runs/s.
      failureEvents = emittedEvents.slice();
      failureResults = emittedFails.slice();
      for (let j = nf - 1; j >= 0; j--) {
        const p = position[FI[j] as number] as number;
        failureEvents.splice(p, 1);
        failureResults.splice(p, 1);
      }
    } else {
      failureEvents = new Array(n - nf);
      failureResults = new Array(n - nf);
      let j = 0;
      let w = 0;
      let next = position[FI[0] as number] as number;
      for (let p = 0; p < n; p++) {
        if (p === next) {
          j++;
          next = j < nf ? (position[FI[j] as number] as number) : -1;
          continue;
        }
        failureEvents[w] = emittedEvents[p] as RuleMeta['event'];
        failureResults[w++] = emittedFails[p] as RuleResult;
      }
    }
    return { events, results, failureEvents, failureResults };
  };

  const runSync = (facts: Facts, keep: { cache: Map<string, unknown> | null } | null): RunResult => {
    const c = pool.acquire(facts, record ? newSlots(slotCount) : null);
    try {
      let nf = 0;
      for (let u = 0; u < units.length; u++) nf = (units[u] as Unit)(c, nf);
      return plan.fired ? assembleFired(c, nf) : assembleRaw(c);
    } finally {
      if (keep !== null) keep.cache = c.cache;
      // Raw results may be user objects (custom operators): the reused scratch must not keep them alive.
      if (!booleans) c.R.fill(undefined);
      pool.release(c);
    }
  };

  const runEngine = async (facts: Facts, memo: Map<string, unknown> | null): Promise<RunResult> => {
    const engine = new Engine(undefined, {
      allowUndefinedFacts: prep.allowUndefinedFacts,
      allowUndefinedConditions: prep.allowUndefinedConditions,
    });
    if (prep.custom) for (const [name, fn] of Object.entries(prep.custom)) engine.addOperator(name, fn);
    // Fresh copies every time: json-rules-engine mutates condition objects (priority parsing,
    // reference projection) and a shared engine drops rules under concurrent runs.
    for (const [name, cond] of Object.entries(prep.named)) engine.setCondition(name, cloneData(cond) as any);
    for (const rule of source) engine.addRule(cloneData(rule) as any);
    const runtime: Record<string, unknown> = {};
    const input = (facts ?? {}) as Record<string, unknown>;
    for (const name in input) {
      const v = input[name];
      if (typeof v === 'function' && memo !== null) {
        // Reuse what the abandoned synchronous attempt already computed, so no fact runs twice.
        runtime[name] = (params: unknown, almanac: unknown) => {
          const key = paramsKey(name, params);
          if (memo.has(key)) return memo.get(key);
          return (v as (p: unknown, a: unknown) => unknown)(params, almanac);
        };
      } else runtime[name] = v;
    }
    let res: any;
    try {
      res = await engine.run(runtime);
    } catch (e) {
      if ((e as { code?: string } | null)?.code === 'UNDEFINED_FACT') {
        const m = /Undefined fact: (.*)$/.exec(String((e as Error).message));
        throw new UndefinedFactError(m ? (m[1] as string) : 'unknown', { cause: e });
      }
      throw e;
    }
    const results = (res.results as any[]).map(fromEngineRuleResult);
    const failureResults = (res.failureResults as any[]).map(fromEngineRuleResult);
    return { events: res.events, failureEvents: res.failureEvents, results, failureResults };
  };

  return {
    mode: prep.mode,
    run(facts) {
      try {
        return runSync(facts, null);
      } catch (e) {
        if (e instanceof AsyncSignal) throw new AsyncFactError(e.fact);
        throw e;
      }
    },
    async runAsync(facts) {
      // Try the synchronous evaluator first; when a fact turns out to be asynchronous, hand this
      // call to a fresh json-rules-engine Engine, reusing the dynamic-fact values already computed.
      const keep = { cache: null as Map<string, unknown> | null };
      try {
        return runSync(facts, keep);
      } catch (e) {
        if (!(e instanceof AsyncSignal)) throw e;
        return runEngine(facts, keep.cache);
      }
    },
  };
}

/**
 * Compiles one condition (a rule's `conditions`) for fast repeated testing, with the same
 * semantics as json-rules-engine.
 * @example
 * const hot = compileCondition({ all: [{ fact: 'lead', path: '$.score', operator: 'greaterThan', value: 70 }] });
 * hot.test({ lead: { score: 80 } }); // true
 * hot.explain({ lead: { score: 80 } }).result; // true
 */
export function compileCondition(condition: TopLevelCondition, options: CompileOptions = {}): CompiledCondition {
  const issues: Issue[] = [];
  const prep = prepare(options, issues);
  const source = cloneData(condition);
  issues.push(
    ...validateCondition(source, 'condition', {
      operators: prep.custom ? Object.keys(prep.custom) : [],
      conditions: prep.allowUndefinedConditions ? undefined : Object.keys(prep.named),
    }),
  );
  if (issues.length > 0) throw new RuleError(issues);
  const b: Builder = { nextId: 0, custom: prep.custom, named: prep.named };
  const top = buildIR(source as unknown as Record<string, any>, b, []);
  const slotCount = b.nextId;
  const fn = prep.mode === 'codegen' ? generateCondition(top, prep.allowUndefinedFacts) : closureOf(top, true).ev;
  const pool = makeCtxPool(prep.allowUndefinedFacts);
  const evaluate = (facts: Facts, S: Slots | null): unknown => {
    const c = pool.acquire(facts, S);
    try {
      return fn(c);
    } catch (e) {
      if (e instanceof AsyncSignal) throw new AsyncFactError(e.fact);
      throw e;
    } finally {
      pool.release(c);
    }
  };
  return {
    mode: prep.mode,
    test: (facts) => Boolean(evaluate(facts, null)),
    explain(facts) {
      const S = newSlots(slotCount);
      const raw = evaluate(facts, S);
      const out = buildResult(top, S, true) as Record<string, unknown>;
      // json-rules-engine leaves `result` off the root; explain() always reports it.
      out.result = raw;
      return out as ConditionResult;
    },
  };
}
