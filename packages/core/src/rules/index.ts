/**
 * leadpipe's evaluator for json-rules-engine's JSON rule format: compile rules once, evaluate them
 * synchronously with json-rules-engine's exact results.
 * @module
 */
export { compileRules, compileCondition, UndefinedFactError, AsyncFactError } from './compile.js';
export type { CompiledRules, CompiledCondition, SyncAlmanac } from './compile.js';
export { validateCondition, isValidPriority } from './validate.js';
export type { ValidateConditionOptions } from './validate.js';
export { resolveOperator, numberValidator, describeOperators, BUILTIN_OPERATORS, BUILTIN_DECORATORS } from './operators.js';
export type { OperatorEvaluator, OperatorResolution } from './operators.js';
export type {
  LeafCondition,
  ConditionReference,
  AllConditions,
  AnyConditions,
  NotConditions,
  TopLevelCondition,
  NestedCondition,
  RuleProperties,
  Facts,
  OperatorFn,
  ConditionResult,
  RuleResult,
  RunResult,
  CompileOptions,
} from './types.js';
