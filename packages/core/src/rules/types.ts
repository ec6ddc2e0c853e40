/**
 * json-rules-engine's JSON rule format (v7), which leadpipe uses unchanged for every condition
 * in a config, and the result shapes of leadpipe's own evaluator.
 * @module
 */

/** A leaf condition: compare a fact (optionally at a JSONPath `path`) with a value or another fact. */
export interface LeafCondition {
  fact: string;
  operator: string;
  /** A literal, or `{ fact, path?, params? }` to compare with another fact. */
  value: unknown;
  path?: string;
  params?: Record<string, unknown>;
  name?: string;
  priority?: number;
}

/** A reference to a named shared condition (`engine.setCondition` in json-rules-engine). */
export interface ConditionReference {
  condition: string;
  name?: string;
  priority?: number;
}

export interface AllConditions {
  all: NestedCondition[];
  name?: string;
  priority?: number;
}
export interface AnyConditions {
  any: NestedCondition[];
  name?: string;
  priority?: number;
}
export interface NotConditions {
  not: NestedCondition;
  name?: string;
  priority?: number;
}

export type TopLevelCondition = AllConditions | AnyConditions | NotConditions | ConditionReference;
export type NestedCondition = LeafCondition | TopLevelCondition;

/** A json-rules-engine rule. */
export interface RuleProperties {
  conditions: TopLevelCondition;
  event: { type: string; params?: Record<string, unknown> };
  name?: string;
  /** Higher runs first; rules of equal priority are one group. @defaultValue 1 */
  priority?: number;
}

/** Fact values for one evaluation. A function is a dynamic fact: `(params, almanac) => value`. */
export type Facts = Record<string, unknown>;

/** A custom operator: `(factValue, jsonValue) => boolean`, as in json-rules-engine. */
export type OperatorFn = (factValue: any, jsonValue: any) => boolean; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One evaluated condition, mirroring json-rules-engine's condition results (for `explain`). */
export type ConditionResult =
  | {
      fact: string;
      operator: string;
      value: unknown;
      path?: string;
      params?: Record<string, unknown>;
      name?: string;
      priority?: number;
      /** The fact value the operator saw (after `path`). */
      factResult: unknown;
      /** The right-hand value the operator saw (resolved when it was a fact reference). */
      valueResult: unknown;
      result: boolean;
    }
  | { all: ConditionResult[]; result: boolean; name?: string; priority?: number }
  | { any: ConditionResult[]; result: boolean; name?: string; priority?: number }
  | { not: ConditionResult; result: boolean; name?: string; priority?: number }
  | { condition: string; result: boolean; resolved?: ConditionResult; name?: string; priority?: number };

/** Outcome of one rule. */
export interface RuleResult {
  name?: string;
  priority: number;
  event: { type: string; params?: Record<string, unknown> };
  result: boolean;
  conditions: ConditionResult;
}

/** Outcome of a rule set: the same split json-rules-engine's `run()` returns. */
export interface RunResult {
  /** Events of the rules that fired, in the order json-rules-engine would emit them. */
  events: Array<{ type: string; params?: Record<string, unknown> }>;
  results: RuleResult[];
  failureEvents: Array<{ type: string; params?: Record<string, unknown> }>;
  failureResults: RuleResult[];
}

/** Options for {@link compileRules}. */
export interface CompileOptions {
  /** Custom operators by name (as `engine.addOperator`). */
  operators?: Record<string, OperatorFn>;
  /** Named shared conditions (as `engine.setCondition`). */
  conditions?: Record<string, TopLevelCondition>;
  /** As json-rules-engine's option: when false, a missing fact throws. @defaultValue false */
  allowUndefinedFacts?: boolean;
  /** As json-rules-engine's option. @defaultValue true */
  allowUndefinedConditions?: boolean;
  /**
   * `'codegen'` builds a function with `new Function` from escaped parts; `'closure'` composes
   * closures and never generates code; `'auto'` tries codegen and falls back to closures where
   * code generation is forbidden (`--disallow-code-generation-from-strings`).
   * @defaultValue 'auto'
   */
  mode?: 'auto' | 'codegen' | 'closure';
  /** Skip per-condition results for speed when only fired/failed matters. @defaultValue true */
  recordResults?: boolean;
}
