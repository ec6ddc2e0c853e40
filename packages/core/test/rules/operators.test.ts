/**
 * Operator semantics, each checked against json-rules-engine 7.3.1 itself and against the stated
 * expectation (so a surprising engine behaviour is visible here, in writing).
 */
import { Engine } from 'json-rules-engine';
import { describe, expect, it } from 'vitest';
import { BUILTIN_DECORATORS, BUILTIN_OPERATORS, numberValidator, resolveOperator } from '../../src/rules/index.js';

async function engineResult(operator: string, factValue: unknown, value: unknown): Promise<unknown> {
  const engine = new Engine([{ conditions: { all: [{ fact: 'f', operator, value }] }, event: { type: 'e' } }] as never, { allowUndefinedFacts: true });
  const { results, failureResults } = await engine.run({ f: factValue });
  const rule = [...results, ...failureResults][0] as unknown as { conditions: { all: [{ result: unknown }] } };
  return rule.conditions.all[0].result;
}

function ours(operator: string, factValue: unknown, value: unknown): unknown {
  const op = resolveOperator(operator);
  if (!op.ok) throw new Error(op.message);
  return op.evaluate(factValue, value);
}

// [operator, fact value, value, expected]
const CASES: [string, unknown, unknown, boolean][] = [
  ['equal', 1, 1, true],
  ['equal', '1', 1, false], // strict
  ['equal', Number.NaN, Number.NaN, false],
  ['notEqual', null, undefined, true],
  ['in', 'b', ['a', 'b'], true],
  ['in', 'b', 'abc', true], // a string value is searched as a substring
  ['in', 1, 'a1', true], // …after String() of the fact
  ['in', Number.NaN, [Number.NaN], false], // indexOf never finds NaN
  ['notIn', 'z', ['a'], true],
  ['contains', ['a', 'b'], 'a', true],
  ['contains', 'abc', 'a', false], // fact must be an array
  ['doesNotContain', 'abc', 'z', false], // …also for doesNotContain
  ['doesNotContain', ['a'], 'z', true],
  ['greaterThanInclusive', '55', 50, true], // numberValidator accepts numeric strings
  ['greaterThanInclusive', [60], 50, true], // and [60] (String([60]) === '60')
  ['greaterThanInclusive', '55abc', 50, false], // parseFloat accepts it, then '55abc' >= 50 is NaN >= 50
  ['greaterThan', null, -1, false], // null fails the validator although null > -1
  ['greaterThan', true, 0, false],
  ['lessThan', '10', '9', true], // string comparison once both sides are strings
  ['lessThanInclusive', Infinity, Infinity, true],
  ['lessThan', [], 1, false],
  ['lessThanInclusive', Number.NaN, Object.create(null), false], // the validator stops NaN before `<=` could throw on the value
  ['someFact:equal', [1, 2], 2, true],
  ['someFact:equal', 2, 2, false], // the decorator's validator needs an array fact
  ['everyFact:greaterThan', [60, 70], 50, true],
  ['everyFact:greaterThan', [], 50, true],
  ['someValue:equal', 'b', ['a', 'b'], true],
  ['everyValue:notEqual', 'c', ['a', 'b'], true],
  ['swap:in', ['a', 'b'], 'a', true],
  ['swap:contains', 'a', ['a'], true],
  ['not:equal', 1, 2, true],
  ['not:greaterThan', null, 5, true], // the inner validator fails → false → not → true
  ['not:swap:contains', 'x', ['a'], true],
  ['not:someFact:in', ['x', 'y'], ['a'], true],
  ['everyFact:not:in', ['x', 'y'], ['a'], true],
];

describe('built-in operators', () => {
  it('lists every built-in operator and decorator', () => {
    expect(BUILTIN_OPERATORS).toEqual(['equal', 'notEqual', 'in', 'notIn', 'contains', 'doesNotContain', 'lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive']);
    expect(BUILTIN_DECORATORS).toEqual(['someFact', 'someValue', 'everyFact', 'everyValue', 'swap', 'not']);
  });

  it.each(CASES)('%s(%j, %j) is %s, as in json-rules-engine', async (operator, factValue, value, expected) => {
    expect(ours(operator, factValue, value)).toBe(expected);
    expect(await engineResult(operator, factValue, value)).toBe(expected);
  });

  it('throws where json-rules-engine throws: `in` with a value that has no indexOf, someValue with a non-array', async () => {
    expect(() => ours('in', 1, 5)).toThrow(TypeError);
    expect(() => ours('someValue:equal', 1, 'ab')).toThrow(TypeError);
    await expect(engineResult('in', 1, 5)).rejects.toThrow(TypeError);
    await expect(engineResult('someValue:equal', 1, 'ab')).rejects.toThrow(TypeError);
  });

  it('numberValidator follows Number.parseFloat', () => {
    expect(numberValidator('55')).toBe(true);
    expect(numberValidator(' 7px')).toBe(true);
    expect(numberValidator([60])).toBe(true);
    expect(numberValidator(Infinity)).toBe(true);
    expect(numberValidator('abc')).toBe(false);
    expect(numberValidator(null)).toBe(false);
    expect(numberValidator(Number.NaN)).toBe(false);
  });
});

describe('operator resolution', () => {
  it('reports unknown operators and decorators with the valid names', () => {
    const bad = resolveOperator('greaterThen');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/unknown operator "greaterThen".*greaterThan.*someFact/);
    const badDecorator = resolveOperator('never:equal');
    expect(!badDecorator.ok && badDecorator.message).toMatch(/unknown decorator "never".*someFact, someValue/);
    expect(resolveOperator(':equal').ok).toBe(false);
    expect(resolveOperator('not:').ok).toBe(false);
  });

  it('custom operators override built-ins, may contain ":", and may be decorated; results pass through raw', () => {
    const custom = { equal: () => true, 'has:colon': () => true, startsWith: (a: string, b: string) => (a.startsWith(b) ? 1 : 0) as unknown as boolean };
    const equal = resolveOperator('equal', custom);
    expect(equal.ok && equal.evaluate(1, 2)).toBe(true);
    expect(resolveOperator('has:colon', custom).ok).toBe(true);
    const starts = resolveOperator('startsWith', custom);
    expect(starts.ok && starts.evaluate('abc', 'a')).toBe(1);
    const notStarts = resolveOperator('not:startsWith', custom);
    expect(notStarts.ok && notStarts.evaluate('abc', 'z')).toBe(true);
  });
});
