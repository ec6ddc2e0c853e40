/**
 * json-rules-engine 7.3.1's built-in operators and operator decorators, re-implemented with the
 * same semantics (coercions, fact-value validators, truthiness) so that leadpipe's evaluator gives
 * the same answers as `engine.run()`.
 *
 * How json-rules-engine evaluates an operator: `validator(factValue) && callback(factValue, value)`.
 * The validator of `contains`/`doesNotContain` is `Array.isArray`; that of the four numeric
 * operators accepts anything `Number.parseFloat` can read (`"55"`, `"55abc"`, `[60]`) and the
 * comparison then uses JavaScript's own `<`/`>` coercion. Decorated operators (`not:in`,
 * `everyFact:greaterThan`, `not:swap:contains`) are built by wrapping right to left; a decorator's
 * own validator (`someFact`/`everyFact` need an array fact) runs before it calls the inner operator,
 * whose validator runs again on the values it receives.
 * @module
 */
import type { OperatorFn } from './types.js';

/**
 * A resolved operator: `(factValue, value) => result`. Built-in operators return booleans; a custom
 * operator's return value is passed through unchanged, as json-rules-engine does.
 */
export type OperatorEvaluator = (factValue: unknown, jsonValue: unknown) => unknown;

/** Names of json-rules-engine's built-in operators, in its registration order. */
export const BUILTIN_OPERATORS: readonly string[] = Object.freeze([
  'equal',
  'notEqual',
  'in',
  'notIn',
  'contains',
  'doesNotContain',
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
]);

/** Names of json-rules-engine's built-in operator decorators (`decorator:operator`). */
export const BUILTIN_DECORATORS: readonly string[] = Object.freeze(['someFact', 'someValue', 'everyFact', 'everyValue', 'swap', 'not']);

/**
 * json-rules-engine's `numberValidator`: true when `Number.parseFloat` reads a number from the
 * value (after string conversion), so `"55"`, `" 7px"`, `[60]` and `Infinity` pass and `null`,
 * `true`, `"abc"` and `NaN` fail. A symbol throws a `TypeError`, as it does there.
 * @example
 * numberValidator('55'); // true
 * numberValidator([60]); // true
 * numberValidator(null); // false
 */
export function numberValidator(factValue: unknown): boolean {
  // A missing fact (the usual non-number) fails without calling `parseFloat`, whose NaN result is
  // a new heap number per call (~86 bytes per tour event of garbage, sampled).
  if (factValue === undefined || factValue === null) return false;
  return !Number.isNaN(Number.parseFloat(factValue as string));
}

/* eslint-disable @typescript-eslint/no-explicit-any -- operators apply JavaScript's own coercions to any values */
type Cmp = (a: any, b: any) => boolean;

// Speed: a number fact (the common case) skips the parseFloat-based validator. This is exact:
// for a number the validator only rejects NaN (checked as `a === a`, which must stay: `NaN < b`
// would still coerce `b` and can throw for a value without a primitive form).
function numeric(cmp: Cmp): OperatorEvaluator {
  return (a, b) => (typeof a === 'number' ? a === a && cmp(a, b) : numberValidator(a) && cmp(a, b));
}

const BASE: Record<string, OperatorEvaluator> = {
  equal: (a, b) => a === b,
  notEqual: (a, b) => a !== b,
  // `b.indexOf` is called as is: a string value does a substring search of String(a), and a value
  // without `indexOf` (a number, null) throws a TypeError — all exactly as json-rules-engine.
  in: (a, b) => (b as any).indexOf(a) > -1,
  notIn: (a, b) => (b as any).indexOf(a) === -1,
  contains: (a, b) => Array.isArray(a) && a.indexOf(b) > -1,
  doesNotContain: (a, b) => Array.isArray(a) && a.indexOf(b) === -1,
  lessThan: numeric((a, b) => a < b),
  lessThanInclusive: numeric((a, b) => a <= b),
  greaterThan: numeric((a, b) => a > b),
  greaterThanInclusive: numeric((a, b) => a >= b),
};

// Array.prototype.some/every semantics (truthiness, holes skipped) without allocating a callback
// closure per evaluation; a non-array value falls back to calling its own `some`/`every`, which
// throws the same TypeError json-rules-engine's `jsonValue.some(...)` throws.
function someOf(list: unknown, test: (item: unknown) => unknown): boolean {
  if (!Array.isArray(list)) return (list as any).some((item: unknown) => test(item));
  for (let i = 0; i < list.length; i++) if (i in list && test(list[i])) return true;
  return false;
}
function everyOf(list: unknown, test: (item: unknown) => unknown): boolean {
  if (!Array.isArray(list)) return (list as any).every((item: unknown) => test(item));
  for (let i = 0; i < list.length; i++) if (i in list && !test(list[i])) return false;
  return true;
}

const DECORATORS: Record<string, (next: OperatorEvaluator) => OperatorEvaluator> = {
  someFact: (next) => (a, b) => {
    if (!Array.isArray(a)) return false;
    for (let i = 0; i < a.length; i++) if (i in a && next(a[i], b)) return true;
    return false;
  },
  someValue: (next) => (a, b) => someOf(b, (item) => next(a, item)),
  everyFact: (next) => (a, b) => {
    if (!Array.isArray(a)) return false;
    for (let i = 0; i < a.length; i++) if (i in a && !next(a[i], b)) return false;
    return true;
  },
  everyValue: (next) => (a, b) => everyOf(b, (item) => next(a, item)),
  swap: (next) => (a, b) => next(b, a),
  not: (next) => (a, b) => !next(a, b),
};
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The outcome of resolving an operator name such as `not:swap:contains`. */
export type OperatorResolution =
  | {
      ok: true;
      evaluate: OperatorEvaluator;
      /** The operator at the end of the chain (`contains` in `not:swap:contains`). */
      base: string;
      /** Decorators, outermost first (`['not', 'swap']`). */
      decorators: string[];
      /** True when `base` is a custom operator (custom operators replace built-ins of the same name). */
      custom: boolean;
    }
  | { ok: false; message: string };

/** The names a condition's `operator` may use, for error messages. */
export function describeOperators(customNames: Iterable<string> = []): string {
  const names = new Set([...BUILTIN_OPERATORS, ...customNames]);
  return `operators: ${[...names].join(', ')}; decorators (prefix, e.g. "not:in"): ${BUILTIN_DECORATORS.join(', ')}`;
}

/**
 * Resolves an operator name the way json-rules-engine's `OperatorMap.get` does: an exact operator
 * name wins (a custom operator may contain `:`); otherwise the text before the first `:` must be a
 * decorator and the rest is resolved again.
 * @example
 * const op = resolveOperator('everyFact:greaterThan');
 * if (op.ok) op.evaluate([60, 70], 50); // true
 */
export function resolveOperator(name: string, custom?: Record<string, OperatorFn> | null): OperatorResolution {
  const isOperator = (n: string): boolean =>
    (custom != null && Object.prototype.hasOwnProperty.call(custom, n)) || Object.prototype.hasOwnProperty.call(BASE, n);
  const decorators: string[] = [];
  let rest = name;
  while (!isOperator(rest)) {
    const colon = rest.indexOf(':');
    if (colon <= 0) {
      const message =
        decorators.length === 0
          ? `unknown operator "${name}"; valid ${describeOperators(custom ? Object.keys(custom) : [])}`
          : `unknown operator "${rest}" in "${name}"; valid ${describeOperators(custom ? Object.keys(custom) : [])}`;
      return { ok: false, message };
    }
    const decorator = rest.slice(0, colon);
    if (!Object.prototype.hasOwnProperty.call(DECORATORS, decorator)) {
      return {
        ok: false,
        message: `unknown decorator "${decorator}" in operator "${name}"; valid decorators: ${BUILTIN_DECORATORS.join(', ')}`,
      };
    }
    decorators.push(decorator);
    rest = rest.slice(colon + 1);
  }
  const isCustom = custom != null && Object.prototype.hasOwnProperty.call(custom, rest);
  let evaluate: OperatorEvaluator;
  if (isCustom) {
    const fn = (custom as Record<string, OperatorFn>)[rest] as OperatorFn;
    // json-rules-engine's default validator returns true, so `true && cb(...)` is cb's raw result.
    evaluate = (a, b) => fn(a, b);
  } else {
    evaluate = BASE[rest] as OperatorEvaluator;
  }
  for (let i = decorators.length - 1; i >= 0; i--) evaluate = (DECORATORS[decorators[i] as string] as (n: OperatorEvaluator) => OperatorEvaluator)(evaluate);
  return { ok: true, evaluate, base: rest, decorators, custom: isCustom };
}
