/**
 * Structural and semantic checks of a json-rules-engine condition, reporting every problem as an
 * {@link Issue} with its JSON path instead of throwing. json-rules-engine itself reports unknown
 * operators and unknown facts only when a rule runs; leadpipe reports them when a config loads.
 * @module
 */
import type { Issue } from '../errors.js';
import { resolveOperator } from './operators.js';
import type { OperatorFn } from './types.js';

/** Options for {@link validateCondition}. */
export interface ValidateConditionOptions {
  /** Names of custom operators available besides the built-ins. @defaultValue none */
  operators?: Iterable<string>;
  /**
   * Called for every fact a condition reads (`fact`, and `value.fact` of a fact reference); return
   * an error message when the fact is unknown, `undefined` when it is fine.
   */
  knownFacts?: (fact: string, factPath: string | undefined) => string | undefined;
  /** Names of the shared conditions a `{ condition: "name" }` reference may use. When omitted, references are not checked. */
  conditions?: Iterable<string>;
}

const BOOLEAN_KEYS = ['all', 'any', 'not'] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Appends a property to a JSON path: `a.b`, or `a["x y"]` when the key is not an identifier. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

/**
 * A condition priority json-rules-engine orders unambiguously: a number, or a string that is the
 * canonical spelling of a number (`"2"`, not `"2.0"` or `"high"`).
 */
export function isValidPriority(value: unknown): boolean {
  if (typeof value === 'number') return true;
  return typeof value === 'string' && value.trim() !== '' && String(Number(value)) === value;
}

/**
 * Checks a condition (`all`/`any`/`not`/`condition` at the root, leaves below) and returns every
 * problem found; an empty array means the condition compiles.
 * @param condition - the condition to check, as parsed from JSON
 * @param path - JSON path of `condition` in the document, prefixed to every issue's path
 * @example
 * validateCondition({ all: [{ fact: 'score', operator: 'greaterThen', value: 50 }] }, 'qualification.rules[2].conditions', {});
 * // [{ path: 'qualification.rules[2].conditions.all[0].operator', message: 'unknown operator "greaterThen"; valid operators: …' }]
 */
export function validateCondition(condition: unknown, path: string, options: ValidateConditionOptions = {}): Issue[] {
  const issues: Issue[] = [];
  const custom: Record<string, OperatorFn> = {};
  for (const name of options.operators ?? []) custom[name] = () => false;
  const named = options.conditions === undefined ? undefined : new Set(options.conditions);
  if (!isPlainObject(condition)) {
    issues.push({ path, message: 'a condition must be an object with "all", "any", "not" or "condition"', value: condition });
    return issues;
  }
  const isRootShape = BOOLEAN_KEYS.some((k) => has(condition, k)) || has(condition, 'condition');
  if (!isRootShape) {
    issues.push({
      path,
      message: 'the root of a rule\'s conditions must be "all", "any", "not" or a { "condition": name } reference, not a single comparison',
    });
    return issues;
  }
  walk(condition, path, issues, custom, named, options.knownFacts);
  return issues;
}

function checkPriority(node: Record<string, unknown>, path: string, issues: Issue[]): void {
  if (has(node, 'priority') && node.priority !== undefined && !isValidPriority(node.priority)) {
    issues.push({ path: joinPath(path, 'priority'), message: 'priority must be a number (higher is evaluated first)', value: node.priority });
  }
}

function checkFactRef(
  fact: unknown,
  factPath: unknown,
  params: unknown,
  path: string,
  issues: Issue[],
  knownFacts: ValidateConditionOptions['knownFacts'],
): void {
  if (typeof fact !== 'string' || fact === '') {
    issues.push({ path: joinPath(path, 'fact'), message: 'fact must be a non-empty string naming a fact', value: fact });
  } else if (knownFacts) {
    const message = knownFacts(fact, typeof factPath === 'string' ? factPath : undefined);
    if (message !== undefined) issues.push({ path: joinPath(path, 'fact'), message, value: fact });
  }
  if (factPath !== undefined && typeof factPath !== 'string') {
    issues.push({ path: joinPath(path, 'path'), message: 'path must be a JSONPath string such as "$.address.city"', value: factPath });
  }
  if (params !== undefined && !isPlainObject(params)) {
    issues.push({ path: joinPath(path, 'params'), message: 'params must be an object', value: params });
  }
}

function walk(
  node: unknown,
  path: string,
  issues: Issue[],
  custom: Record<string, OperatorFn>,
  named: Set<string> | undefined,
  knownFacts: ValidateConditionOptions['knownFacts'],
): void {
  if (!isPlainObject(node)) {
    issues.push({ path, message: 'a condition must be an object: a comparison { fact, operator, value } or all/any/not', value: node });
    return;
  }
  const booleans = BOOLEAN_KEYS.filter((k) => has(node, k));
  const kinds = booleans.length + (has(node, 'condition') ? 1 : 0) + (has(node, 'fact') ? 1 : 0);
  if (kinds > 1) {
    issues.push({
      path,
      message: `a condition must have exactly one of "all", "any", "not", "condition" or "fact"; found ${[...booleans, ...(['condition', 'fact'] as const).filter((k) => has(node, k))].join(', ')}`,
    });
    return;
  }
  if (node.name !== undefined && typeof node.name !== 'string') {
    issues.push({ path: joinPath(path, 'name'), message: 'name must be a string', value: node.name });
  }
  checkPriority(node, path, issues);
  const op = booleans[0];
  if (op === 'all' || op === 'any') {
    const list = node[op];
    if (!Array.isArray(list)) {
      issues.push({ path: joinPath(path, op), message: `"${op}" must be an array of conditions`, value: list });
      return;
    }
    list.forEach((child, i) => walk(child, joinPath(joinPath(path, op), i), issues, custom, named, knownFacts));
    return;
  }
  if (op === 'not') {
    const child = node.not;
    if (Array.isArray(child) || !isPlainObject(child)) {
      issues.push({ path: joinPath(path, 'not'), message: '"not" must be a single condition object, not an array', value: child });
      return;
    }
    walk(child, joinPath(path, 'not'), issues, custom, named, knownFacts);
    return;
  }
  if (has(node, 'condition')) {
    const ref = node.condition;
    if (typeof ref !== 'string' || ref === '') {
      issues.push({ path: joinPath(path, 'condition'), message: 'condition must be the name of a shared condition', value: ref });
    } else if (named && !named.has(ref)) {
      const known = [...named];
      issues.push({
        path: joinPath(path, 'condition'),
        message: `unknown shared condition "${ref}"; ${known.length ? `defined: ${known.join(', ')}` : 'no shared conditions are defined'}`,
        value: ref,
      });
    }
    return;
  }
  // A comparison.
  if (!has(node, 'fact')) {
    issues.push({ path: joinPath(path, 'fact'), message: 'missing "fact": a comparison needs fact, operator and value (or use all/any/not)' });
  } else {
    checkFactRef(node.fact, node.path, node.params, path, issues, knownFacts);
  }
  if (!has(node, 'operator')) {
    issues.push({ path: joinPath(path, 'operator'), message: 'missing "operator", e.g. "equal", "greaterThan", "in"' });
  } else if (typeof node.operator !== 'string') {
    issues.push({ path: joinPath(path, 'operator'), message: 'operator must be a string', value: node.operator });
  } else {
    const resolved = resolveOperator(node.operator, custom);
    if (!resolved.ok) issues.push({ path: joinPath(path, 'operator'), message: resolved.message, value: node.operator });
  }
  if (!has(node, 'value')) {
    issues.push({ path: joinPath(path, 'value'), message: 'missing "value": the value to compare with, or { "fact": name } to compare with another fact' });
  } else {
    const value = node.value;
    if (isPlainObject(value) && has(value, 'fact')) {
      checkFactRef(value.fact, value.path, value.params, joinPath(path, 'value'), issues, knownFacts);
    }
  }
}
