/**
 * What the conformance suites share: named tests that may be skipped only with a reason, and
 * unique namespaces so suites can share one backend.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';

/** Options every conformance suite takes. */
export interface ConformanceOptions {
  /**
   * Tests to skip, by exact test name, each with the reason (shown in the test title and printed).
   * A name that matches no test fails the suite, so a renamed test cannot be skipped by accident.
   * @defaultValue `{}` (run everything)
   * @example
   * ```ts
   * { skip: { 'repeat follows the time zone across a DST change': 'BullMQ repeat runs on Redis time, not the test clock' } }
   * ```
   */
  skip?: Record<string, string>;
}

/** Registers one named test of a suite. */
export type DefineTest<C> = (name: string, fn: (ctx: C) => Promise<void>) => void;

const RUN = randomUUID().slice(0, 8);
let counter = 0;

/**
 * A name no other test of this process (or, very likely, of any other process) uses: a tenant id,
 * queue name or key prefix for one test.
 */
export function uniqueNamespace(label: string): string {
  counter += 1;
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 32);
  return `lp-${RUN}-${counter}-${slug}`;
}

/**
 * Declare a suite: `body` registers its tests through `test`, and `setup` builds each test's
 * context (and the teardown to run after it, pass or fail).
 * @internal
 */
export function defineSuite<C>(
  title: string,
  options: ConformanceOptions,
  setup: (name: string) => Promise<{ ctx: C; teardown: () => Promise<void> }>,
  body: (test: DefineTest<C>) => void,
): void {
  describe(title, () => {
    const skip = options.skip ?? {};
    const names: string[] = [];
    const test: DefineTest<C> = (name, fn) => {
      if (names.includes(name)) throw new Error(`[leadpipe/testing] duplicate test name in ${title}: ${name}`);
      names.push(name);
      const run = async (): Promise<void> => {
        const { ctx, teardown } = await setup(name);
        try {
          await fn(ctx);
        } finally {
          await teardown();
        }
      };
      if (!Object.prototype.hasOwnProperty.call(skip, name)) {
        it(name, run);
        return;
      }
      const reason = String(skip[name]).trim();
      if (reason === '') {
        it(name, () => {
          throw new Error(`options.skip[${JSON.stringify(name)}] needs a reason: say why this adapter cannot pass it.`);
        });
        return;
      }
      console.info(`[leadpipe/testing] ${title} › ${name}: skipped (${reason})`);
      it.skip(`${name} [skipped: ${reason}]`, run);
    };

    body(test);

    it('options.skip names only tests of this suite', () => {
      const unknown = Object.keys(skip).filter((name) => !names.includes(name));
      expect(unknown, `options.skip names tests that do not exist. The tests are:\n  ${names.join('\n  ')}\n`).toEqual([]);
    });
  });
}

/**
 * Await a promise expected to reject and return the error (fails the test if it resolves).
 * @internal
 */
export async function rejectionOf(promise: Promise<unknown>, what: string): Promise<unknown> {
  let resolved = false;
  let error: unknown;
  try {
    await promise;
    resolved = true;
  } catch (e) {
    error = e;
  }
  expect(resolved, `${what} should have rejected, but resolved`).toBe(false);
  return error;
}

/** Describe an error briefly for assertion messages. @internal */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${code === undefined ? '' : ` (${String(code)})`}: ${error.message}`;
  }
  return String(error);
}

/** Sleep on a real timer. @internal */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
