/**
 * Every error leadpipe throws is a {@link LeadpipeError} with a stable `code`, a message that
 * says what to change, and `details` that locate the problem (JSON path, offending value with
 * personal data masked).
 *
 * What this family does **not** cover: "no route matched", a duplicate event and an event
 * withheld for lack of consent are *results* of `track`, not errors.
 * @module
 */

/** Stable machine-readable codes. Add, never rename. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'EVENT_INVALID'
  | 'CONSENT_REQUIRED'
  | 'VERSION_CONFLICT'
  | 'DUPLICATE_EVENT'
  | 'NOT_FOUND'
  | 'DELIVERY_FAILED'
  | 'RATE_LIMITED'
  | 'RULE_INVALID'
  | 'STORE_CLOSED'
  | 'STORE_FULL';

/** One located problem: where it is (a JSON path such as `routing.rules[2].to.owners[0]`) and what to do. */
export interface Issue {
  /** JSON path of the offending field, as a dotted string (`""` for the whole document). */
  path: string;
  /** What is wrong and what to change. */
  message: string;
  /** The offending value, when showing it helps (personal data masked). */
  value?: unknown;
}

const BRAND = Symbol.for('leadpipe.error');

/** Base class of every error leadpipe throws. Use {@link isLeadpipeError} rather than `instanceof` across package copies. */
export class LeadpipeError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  /** @internal */
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LeadpipeError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** True for any leadpipe error, even one thrown by a second installed copy of the package. */
export function isLeadpipeError(value: unknown, code?: ErrorCode): value is LeadpipeError {
  const branded = typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  return branded && (code === undefined || (value as LeadpipeError).code === code);
}

function listIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n');
}

/** A configuration document failed validation. `issues` lists every problem found, not just the first. */
export class ConfigError extends LeadpipeError {
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[], source?: string) {
    const where = source ? ` in ${source}` : '';
    super('CONFIG_INVALID', `Invalid leadpipe config${where}: ${issues.length} problem(s)\n${listIssues(issues)}`, {
      details: { issues },
    });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** An event (or a batch of events) failed validation. Nothing was written. */
export class EventError extends LeadpipeError {
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[]) {
    super('EVENT_INVALID', `Invalid event: ${issues.length} problem(s)\n${listIssues(issues)}`, { details: { issues } });
    this.name = 'EventError';
    this.issues = issues;
  }
}

/** A rule could not be compiled (unknown operator, malformed condition). */
export class RuleError extends LeadpipeError {
  readonly issues: readonly Issue[];
  constructor(issues: readonly Issue[]) {
    super('RULE_INVALID', `Invalid rule: ${issues.length} problem(s)\n${listIssues(issues)}`, { details: { issues } });
    this.name = 'RuleError';
    this.issues = issues;
  }
}

/**
 * A store commit lost an optimistic-concurrency race (a lead's version moved, or an event id was
 * committed by someone else first). The engine retries these itself; you see one only when
 * retries are exhausted.
 */
export class ConflictError extends LeadpipeError {
  constructor(message: string, details: Record<string, unknown> = {}, code: 'VERSION_CONFLICT' | 'DUPLICATE_EVENT' = 'VERSION_CONFLICT') {
    super(code, message, { details });
    this.name = 'ConflictError';
  }
}

/** Something the caller asked for does not exist (a lead key, an outbox entry). */
export class NotFoundError extends LeadpipeError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('NOT_FOUND', message, { details });
    this.name = 'NotFoundError';
  }
}

/**
 * A sink or channel failed. `retryable: false` means retrying cannot help (bad address,
 * rejected payload): the outbox marks the effect dead instead of retrying.
 */
export class DeliveryError extends LeadpipeError {
  readonly retryable: boolean;
  constructor(message: string, options: { retryable: boolean; cause?: unknown; details?: Record<string, unknown> }) {
    super('DELIVERY_FAILED', message, { details: options.details ?? {}, cause: options.cause });
    this.name = 'DeliveryError';
    this.retryable = options.retryable;
  }
}

/** Masks a value that may be personal data, keeping only its type and length. */
export function maskValue(value: unknown): string {
  if (typeof value === 'string') return value.length <= 2 ? '**' : `${value.slice(0, 1)}***(${value.length} chars)`;
  if (value === null || value === undefined) return String(value);
  return `<${typeof value}>`;
}
