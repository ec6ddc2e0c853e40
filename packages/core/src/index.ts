/**
 * `@leadpipe/core`: turn interaction events into scored, qualified and routed leads.
 *
 * Start with {@link createEngine}; describe your business in a config validated by
 * {@link parseConfig}; plug in a {@link Store} (the in-memory {@link MemoryStore} is the
 * default). Conformance suites for adapters are in `@leadpipe/core/testing`.
 * @module
 */
export { createEngine, Engine, snapshot } from './engine.js';
export type { DispatchOptions, EngineOptions, Explanation, IdentifyInput, LeadRef, SimulationResult, TrackResult } from './engine.js';

export { parseConfig, safeParseConfig, defineConfig, formatPath } from './config/parse.js';
export type { ParseConfigOptions, SafeParseConfigResult } from './config/parse.js';
export { configSchema, DEFAULT_STAGES, WEEKDAYS } from './config/schema.js';
export type {
  Config,
  ConfigInput,
  ModifierConfig,
  OwnerConfig,
  QualificationRuleConfig,
  RoutingRuleConfig,
  RouteTargetConfig,
  SignalConfig,
  TierConfig,
  Weekday,
  WeeklyWindow,
} from './config/schema.js';
export { configJsonSchema } from './config/json-schema.js';
export { parseDuration, formatDuration } from './config/duration.js';
export { LEAD_FACTS, EVENT_FACTS, FIT_FACTS, OWNER_FACTS, LIFECYCLE_EVENTS } from './config/facts.js';

export { eventInputSchema, validateEvent } from './pipeline/validate-event.js';
export type { RoutingDecision, SkipReason } from './pipeline/route.js';
export type { QualifyResult } from './pipeline/qualify.js';
export type { Contribution } from './pipeline/score.js';

export {
  LeadpipeError,
  ConfigError,
  EventError,
  RuleError,
  ConflictError,
  NotFoundError,
  DeliveryError,
  isLeadpipeError,
} from './errors.js';
export type { ErrorCode, Issue } from './errors.js';

export type { LeadpipeEventMap, LeadpipeEventName, LifecycleEvent } from './events.js';

export { DEFAULT_TENANT } from './types.js';
export type {
  EventInput,
  EventContext,
  StoredEvent,
  LeadKey,
  LeadState,
  LeadSnapshot,
  ScoreBreakdown,
  StageTransition,
  RouteRecord,
  RoutePick,
  Effect,
  EffectBase,
  DeliveryEffect,
  NotificationEffect,
  OutboxEntry,
  OutboxStatus,
  AuditEntry,
  Profile,
} from './types.js';

export type {
  Clock,
  Logger,
  Store,
  CommitBatch,
  LeadWrite,
  LeadFilter,
  ClaimOptions,
  Queue,
  QueueJob,
  ProcessOptions,
  Scheduler,
  ScheduledJob,
  Sink,
} from './contracts.js';

export { MemoryStore, MemoryQueue, MemoryScheduler, ManualClock, systemClock, silentLogger, consoleLogger } from './memory/index.js';
export type { MemoryQueueOptions, MemorySchedulerOptions, LogLevel, ConsoleLoggerOptions } from './memory/index.js';

export { compileRules, compileCondition, validateCondition, UndefinedFactError, AsyncFactError } from './rules/index.js';
export type {
  CompiledRules,
  CompiledCondition,
  CompileOptions,
  ConditionResult,
  Facts,
  OperatorFn,
  RuleProperties,
  RuleResult,
  RunResult,
  TopLevelCondition,
  NestedCondition,
  LeafCondition,
} from './rules/index.js';
