/**
 * compileRules / compileCondition / validateCondition: the behaviours json-rules-engine documents
 * (docs/rules.md, docs/engine.md, docs/almanac.md), checked against the engine where it matters.
 */
import { Engine } from 'json-rules-engine';
import { describe, expect, it } from 'vitest';
import { RuleError } from '../../src/errors.js';
import { AsyncFactError, compileCondition, compileRules, UndefinedFactError, validateCondition } from '../../src/rules/index.js';
import type { CompileOptions, RuleProperties } from '../../src/rules/index.js';

const MODES = ['codegen', 'closure'] as const;

async function engineRun(rules: RuleProperties[], facts: Record<string, unknown>, options: CompileOptions = {}) {
  const engine = new Engine(structuredClone(rules) as never, {
    allowUndefinedFacts: options.allowUndefinedFacts ?? false,
    allowUndefinedConditions: options.allowUndefinedConditions ?? true,
  });
  for (const [name, fn] of Object.entries(options.operators ?? {})) engine.addOperator(name, fn);
  for (const [name, c] of Object.entries(options.conditions ?? {})) engine.setCondition(name, structuredClone(c) as never);
  return engine.run(facts);
}

const leaf = (fact: string, operator: string, value: unknown, extra: Record<string, unknown> = {}) => ({ fact, operator, value, ...extra });

describe.each(MODES)('compileRules (%s)', (mode) => {
  it('runs priority groups highest first and, within a group, in json-rules-engine order', async () => {
    const rules: RuleProperties[] = [
      { name: 'low', priority: 1, conditions: { all: [leaf('x', 'equal', 1)] }, event: { type: 'low' } },
      { name: 'deep', priority: 5, conditions: { all: [leaf('x', 'equal', 1), { all: [leaf('x', 'equal', 1), leaf('x', 'equal', 1)] }] }, event: { type: 'deep' } },
      { name: 'shallow', priority: 5, conditions: { all: [leaf('x', 'equal', 1)] }, event: { type: 'shallow' } },
      { name: 'empty', priority: 5, conditions: { any: [] }, event: { type: 'empty' } },
    ];
    const ours = compileRules(rules, { mode }).run({ x: 1 });
    // Within priority 5 the engine finishes the shallowest rule first; `any: []` is true.
    expect(ours.events.map((e) => e.type)).toEqual(['empty', 'shallow', 'deep', 'low']);
    const theirs = await engineRun(rules, { x: 1 });
    expect(ours.events).toEqual(theirs.events);
    expect(ours.results.map((r) => r.name)).toEqual(theirs.results.map((r) => r.name));
  });

  it('reports condition results like json-rules-engine, leaving not-evaluated priority groups without results', async () => {
    const rules: RuleProperties[] = [
      {
        name: 'r',
        conditions: {
          all: [
            leaf('score', 'greaterThan', 50, { priority: 2 }),
            leaf('country', 'equal', 'US', { priority: 2 }),
            leaf('plan', 'equal', 'pro', { priority: 1 }),
          ],
        },
        event: { type: 'e' },
      },
    ];
    const facts = { score: 10, country: 'US', plan: 'pro' };
    const ours = compileRules(rules, { mode }).run(facts);
    const r = ours.failureResults[0];
    expect(r?.result).toBe(false);
    expect(r?.conditions).toEqual({
      priority: 1,
      all: [
        { fact: 'score', operator: 'greaterThan', value: 50, priority: 2, factResult: 10, valueResult: 50, result: false },
        // Same priority group: evaluated although the first already failed (Promise.all in the engine).
        { fact: 'country', operator: 'equal', value: 'US', priority: 2, factResult: 'US', valueResult: 'US', result: true },
        // Lower group: skipped, so no factResult/result.
        { fact: 'plan', operator: 'equal', value: 'pro', priority: 1 },
      ],
    });
    const theirs = await engineRun(rules, facts);
    expect((theirs.failureResults[0] as unknown as { toJSON(s: boolean): { conditions: unknown } }).toJSON(false).conditions).toEqual(r?.conditions);
  });

  it('throws UNDEFINED_FACT for a missing fact unless allowUndefinedFacts', async () => {
    const rules: RuleProperties[] = [{ conditions: { all: [leaf('nope', 'equal', 1)] }, event: { type: 'e' } }];
    const compiled = compileRules(rules, { mode });
    expect(() => compiled.run({})).toThrow(UndefinedFactError);
    try {
      compiled.run({});
    } catch (e) {
      expect((e as { code: string }).code).toBe('UNDEFINED_FACT');
      expect((e as Error).message).toMatch(/Undefined fact: "nope".*allowUndefinedFacts/);
    }
    await expect(engineRun(rules, {})).rejects.toMatchObject({ code: 'UNDEFINED_FACT' });
    // A fact present with the value undefined is defined.
    expect(compiled.run({ nope: undefined }).failureEvents).toHaveLength(1);
    const lenient = compileRules(rules, { mode, allowUndefinedFacts: true }).run({});
    expect(lenient.failureResults[0]?.conditions).toEqual({ priority: 1, all: [{ fact: 'nope', operator: 'equal', value: 1, valueResult: 1, result: false }] });
  });

  it('follows `path` with JSONPath, only into objects', () => {
    const c = (path: string, value: unknown) => compileCondition({ all: [leaf('user', 'equal', value, { path })] }, { mode });
    const user = { profile: { 'first name': 'Ada', tags: ['a', 'b'] }, n: 0 };
    expect(c('$.profile.tags[1]', 'b').test({ user })).toBe(true);
    expect(c("$.profile['first name']", 'Ada').test({ user })).toBe(true);
    expect(c('$.profile.missing', undefined).test({ user })).toBe(true);
    expect(c('$..tags[0]', ['a']).explain({ user })).toMatchObject({ all: [{ factResult: ['a'] }] }); // jsonpath-plus at run time
    // A non-object fact value is compared as is: the path is ignored.
    expect(c('$.profile.name', 5).test({ user: 5 })).toBe(true);
    // Own properties only.
    expect(c('$.toString', undefined).test({ user: {} })).toBe(true);
  });

  it('compares with another fact (value: { fact, path })', async () => {
    const rules: RuleProperties[] = [
      { conditions: { all: [leaf('spent', 'greaterThanInclusive', { fact: 'account', path: '$.limit' })] }, event: { type: 'over' } },
    ];
    const ours = compileRules(rules, { mode }).run({ spent: 120, account: { limit: 100 } });
    expect(ours.results[0]?.conditions).toMatchObject({ all: [{ factResult: 120, valueResult: 100, result: true }] });
    const theirs = await engineRun(rules, { spent: 120, account: { limit: 100 } });
    expect(ours.events).toEqual(theirs.events);
  });

  it('calls dynamic facts with params and an almanac, caching per run', () => {
    let calls = 0;
    const rate = (params: Record<string, unknown>) => {
      calls++;
      return params.currency === 'EUR' ? 0.9 : 1;
    };
    const total = (_: unknown, almanac: { factValue(f: string): unknown }) => (almanac.factValue('amount') as number) * 2;
    const rules: RuleProperties[] = [
      { conditions: { all: [leaf('rate', 'equal', 0.9, { params: { currency: 'EUR' } }), leaf('rate', 'equal', 0.9, { params: { currency: 'EUR' } })] }, event: { type: 'eur' } },
      { conditions: { all: [leaf('rate', 'equal', 1), leaf('total', 'equal', 20)] }, event: { type: 'usd' } },
    ];
    const res = compileRules(rules, { mode }).run({ rate, total, amount: 10 });
    expect(res.events.map((e) => e.type)).toEqual(['eur', 'usd']);
    expect(calls).toBe(2); // once per distinct params
  });

  it('run() refuses asynchronous facts; runAsync() delegates to json-rules-engine', async () => {
    const rules: RuleProperties[] = [{ name: 'a', conditions: { all: [leaf('slow', 'equal', 3), leaf('x', 'equal', 1)] }, event: { type: 'ok' } }];
    let calls = 0;
    const facts = { x: 1, slow: () => (calls++, Promise.resolve(3)) };
    const compiled = compileRules(rules, { mode });
    expect(() => compiled.run(facts)).toThrow(AsyncFactError);
    expect(() => compiled.run(facts)).toThrow(/runAsync/);
    calls = 0;
    const res = await compiled.runAsync(facts);
    expect(res.events).toEqual([{ type: 'ok' }]);
    expect(res.results[0]?.conditions).toMatchObject({ all: [{ fact: 'slow', factResult: 3, result: true }, { fact: 'x', result: true }] });
    expect(calls).toBe(1); // the promise from the abandoned synchronous attempt is reused
    // Concurrent calls each get their own engine.
    const many = await Promise.all(Array.from({ length: 20 }, () => compiled.runAsync({ x: 1, slow: async () => 3 })));
    expect(many.every((r) => r.events.length === 1)).toBe(true);
    // Synchronous facts stay on the fast path.
    expect((await compiled.runAsync({ x: 1, slow: 3 })).events).toEqual([{ type: 'ok' }]);
  });

  it('supports custom operators and decorator chains on them', async () => {
    const operators = { startsWith: (a: string, b: string) => typeof a === 'string' && a.startsWith(b) };
    const rules: RuleProperties[] = [
      { conditions: { all: [leaf('name', 'startsWith', 'Ad'), leaf('tags', 'someFact:startsWith', 'vi'), leaf('name', 'not:startsWith', 'Z')] }, event: { type: 'e' } },
    ];
    const facts = { name: 'Ada', tags: ['x', 'vip'] };
    const ours = compileRules(rules, { mode, operators }).run(facts);
    expect(ours.events).toHaveLength(1);
    expect((await engineRun(rules, facts, { operators })).events).toEqual(ours.events);
  });

  it('resolves named conditions and projects them into the results as json-rules-engine does', async () => {
    const conditions = { adult: { all: [leaf('age', 'greaterThanInclusive', 18)], name: 'is adult' } };
    const rules: RuleProperties[] = [
      { name: 'r1', conditions: { all: [{ condition: 'adult' }, leaf('country', 'equal', 'NL')] }, event: { type: 'e' } },
      { name: 'r2', conditions: { any: [{ condition: 'ghost' }] }, event: { type: 'ghost' } },
    ];
    const facts = { age: 20, country: 'NL' };
    const ours = compileRules(rules, { mode, conditions }).run(facts);
    expect(ours.results[0]?.conditions).toEqual({
      priority: 1,
      all: [
        { priority: 1, name: 'is adult', all: [{ fact: 'age', operator: 'greaterThanInclusive', value: 18, factResult: 20, valueResult: 18, result: true }], result: true },
        { fact: 'country', operator: 'equal', value: 'NL', factResult: 'NL', valueResult: 'NL', result: true },
      ],
    });
    // allowUndefinedConditions (default true here): an unknown reference is false.
    expect(ours.failureResults[0]?.conditions).toEqual({ priority: 1, any: [{ condition: 'ghost', result: false }] });
    const theirs = await engineRun(rules, facts, { conditions });
    expect(theirs.events).toEqual(ours.events);
    // With allowUndefinedConditions: false we fail at compile time, not at run time.
    expect(() => compileRules(rules, { mode, conditions, allowUndefinedConditions: false })).toThrow(/unknown shared condition "ghost"/);
    expect(() => compileRules([{ conditions: { condition: 'a' }, event: { type: 'e' } }], { mode, conditions: { a: { condition: 'b' }, b: { all: [{ condition: 'a' }] } } })).toThrow(/refers to itself/);
  });

  it('fails at compile time with every problem and its path', () => {
    const rules = [
      { conditions: { all: [leaf('x', 'greaterThen', 1), { fact: 'y', operator: 'equal' }] }, event: { type: 'e' } },
      { conditions: { all: [leaf('x', 'never:equal', 1)] }, event: { type: 'e' }, priority: -1 },
    ] as RuleProperties[];
    let error: RuleError | undefined;
    try {
      compileRules(rules, { mode });
    } catch (e) {
      error = e as RuleError;
    }
    expect(error).toBeInstanceOf(RuleError);
    expect(error?.issues.map((i) => i.path)).toEqual([
      'rules[0].conditions.all[0].operator',
      'rules[0].conditions.all[1].value',
      'rules[1].conditions.all[0].operator',
      'rules[1].priority',
    ]);
  });

  it('recordResults: false keeps json-rules-engine order within a priority group', async () => {
    const rules: RuleProperties[] = [
      { name: 'deep', conditions: { all: [leaf('x', 'equal', 1), { all: [leaf('x', 'equal', 1), leaf('x', 'equal', 1)] }] }, event: { type: 'deep' } },
      { name: 'path', conditions: { all: [leaf('o', 'equal', 1, { path: '$.a' }), leaf('x', 'equal', 1)] }, event: { type: 'path' } },
      { name: 'shallow', conditions: { any: [leaf('x', 'equal', 1), leaf('x', 'equal', 2)] }, event: { type: 'shallow' } },
      { name: 'not', conditions: { not: leaf('x', 'equal', 2) }, event: { type: 'not' } },
      { name: 'empty', conditions: { all: [] }, event: { type: 'empty' } },
      { name: 'first', priority: 3, conditions: { all: [leaf('x', 'equal', 3)] }, event: { type: 'first' } },
    ];
    for (const facts of [{ x: 1, o: { a: 1 } }, { x: 2, o: { a: 0 } }, { x: 3, o: 7 }]) {
      const theirs = await engineRun(rules, facts);
      const name = (r: { name?: unknown }) => r.name;
      for (const recordResults of [false, true]) {
        const ours = compileRules(rules, { mode, recordResults }).run(facts);
        expect(ours.events).toEqual(theirs.events);
        expect(ours.failureEvents).toEqual(theirs.failureEvents);
        expect(ours.results.map(name)).toEqual(theirs.results.map(name));
        expect(ours.failureResults.map(name)).toEqual(theirs.failureResults.map(name));
      }
    }
  });

  it('evaluates large rule sets (several generated functions) like json-rules-engine', async () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    const lists = [['US', 'CA'], ['DE', 'FR', 'NL'], ['GB'], []];
    const tiers = ['pro', 'team', 'free'];
    const rules: RuleProperties[] = Array.from({ length: 260 }, (_, i) => {
      const threshold = leaf('score', 'greaterThanInclusive', rnd(100));
      const country = leaf('country', i % 7 === 0 ? 'notIn' : 'in', lists[rnd(lists.length)]);
      const tier = leaf('account', 'equal', tiers[rnd(tiers.length)], { path: '$.plan.tier' });
      const shapes = [
        { all: [threshold, country, tier] },
        { any: [threshold, country, tier] },
        { all: [{ not: country }, { any: [threshold, tier] }] },
        { all: [leaf('score', 'lessThan', { fact: 'limit' }), tier] },
        { any: [leaf('tags', 'contains', 'x')] },
      ];
      const rule: RuleProperties = { name: `r${i}`, conditions: shapes[i % shapes.length] as never, event: { type: 'e', params: { i } } };
      if (i % 3 === 0) rule.priority = 1 + rnd(3);
      return rule;
    });
    const compiled = [false, true].map((recordResults) => compileRules(rules, { mode, recordResults }));
    for (let f = 0; f < 14; f++) {
      // The last facts make few rules fire (the results are then assembled differently).
      const few = f >= 10;
      const facts = {
        score: f === 5 ? '55' : few ? -1 : rnd(110),
        country: few ? 'JP' : ['US', 'DE', 'GB', 'JP'][rnd(4)],
        account: f === 3 || few ? null : { plan: { tier: tiers[rnd(tiers.length)] } },
        limit: rnd(100),
        tags: f % 2 && !few ? ['x'] : [],
      };
      const theirs = await engineRun(rules, facts);
      const summary = (r: { name?: unknown; result: unknown }) => [r.name, r.result];
      for (const c of compiled) {
        const ours = c.run(facts);
        expect(ours.events).toEqual(theirs.events);
        expect(ours.failureEvents).toEqual(theirs.failureEvents);
        expect(ours.results.map(summary)).toEqual(theirs.results.map(summary));
        expect(ours.failureResults.map(summary)).toEqual(theirs.failureResults.map(summary));
      }
    }
  });

  it('compares `in`/`notIn` lists with strict equality (NaN never matches, holes are skipped)', async () => {
    // eslint-disable-next-line no-sparse-arrays
    const list = [Number.NaN, 0, , 'a', null];
    const rules: RuleProperties[] = [
      { name: 'in', conditions: { all: [leaf('x', 'in', list)] }, event: { type: 'in' } },
      { name: 'notIn', conditions: { all: [leaf('x', 'notIn', list)] }, event: { type: 'notIn' } },
      { name: 'none', conditions: { all: [leaf('x', 'in', [])] }, event: { type: 'none' } },
    ];
    for (const x of [Number.NaN, -0, undefined, 'a', null, '0']) {
      const theirs = await engineRun(rules, { x });
      for (const recordResults of [false, true]) {
        const ours = compileRules(rules, { mode, recordResults }).run({ x });
        expect(ours.events, `x = ${String(x)}`).toEqual(theirs.events);
      }
    }
  });

  it('never lets config strings reach generated code', () => {
    const nasty = "'); globalThis.__pwned = true; ('";
    const rules: RuleProperties[] = [
      { name: nasty, conditions: { all: [{ fact: nasty, path: `$['${'a b'}']`, operator: 'equal', value: nasty }, { fact: '*/`${x}`', operator: 'in', value: [nasty] }] }, event: { type: nasty } },
    ];
    const res = compileRules(rules, { mode }).run({ [nasty]: { 'a b': nasty }, '*/`${x}`': nasty });
    expect((globalThis as { __pwned?: boolean }).__pwned).toBeUndefined();
    expect(res.events).toEqual([{ type: nasty }]);
  });

  it('recordResults: false returns the same events and outcomes with shared, frozen results', () => {
    const rules: RuleProperties[] = [{ name: 'r', conditions: { all: [leaf('x', 'equal', 1)] }, event: { type: 'e', params: { a: 1 } } }];
    const lean = compileRules(rules, { mode, recordResults: false });
    const a = lean.run({ x: 1 });
    const b = lean.run({ x: 1 });
    expect(a.events).toEqual([{ type: 'e', params: { a: 1 } }]);
    expect(a.results[0]).toBe(b.results[0]);
    expect(Object.isFrozen(a.results[0])).toBe(true);
    expect(a.results[0]?.conditions).toEqual({ priority: 1, all: [{ fact: 'x', operator: 'equal', value: 1 }] });
  });
});

describe.each(MODES)('compileCondition (%s)', (mode) => {
  it('test() and explain() agree', () => {
    const cond = compileCondition({ any: [leaf('score', 'greaterThan', 70), { not: leaf('tags', 'contains', 'spam') }] }, { mode });
    expect(cond.test({ score: 10, tags: [] })).toBe(true);
    expect(cond.test({ score: 10, tags: ['spam'] })).toBe(false);
    const explained = cond.explain({ score: 80, tags: ['spam'] });
    expect(explained.result).toBe(true);
    expect(explained).toMatchObject({ any: [{ result: true, factResult: 80 }, { not: { result: true }, result: false }] });
  });
});

describe('validateCondition', () => {
  it('reports structural and semantic problems with JSON paths', () => {
    const issues = validateCondition(
      {
        all: [
          { fact: 'score', operator: 'greaterThen', value: 1 },
          { any: 'nope' },
          { not: [] },
          { condition: 'ghost' },
          { fact: 'unknownFact', operator: 'equal', value: { fact: 'alsoUnknown' } },
          { operator: 'equal', value: 1 },
          { fact: 'score', operator: 'equal', value: 1, priority: 'high' },
          { all: [], any: [] },
        ],
      },
      'qualification.rules[2].conditions',
      {
        conditions: ['known'],
        knownFacts: (fact) => (fact === 'score' ? undefined : `unknown fact "${fact}"; known facts: score`),
      },
    );
    expect(issues.map((i) => i.path)).toEqual([
      'qualification.rules[2].conditions.all[0].operator',
      'qualification.rules[2].conditions.all[1].any',
      'qualification.rules[2].conditions.all[2].not',
      'qualification.rules[2].conditions.all[3].condition',
      'qualification.rules[2].conditions.all[4].fact',
      'qualification.rules[2].conditions.all[4].value.fact',
      'qualification.rules[2].conditions.all[5].fact',
      'qualification.rules[2].conditions.all[6].priority',
      'qualification.rules[2].conditions.all[7]',
    ]);
    expect(issues[0]?.message).toMatch(/unknown operator "greaterThen"; valid operators: equal, .*decorators/);
    expect(issues[3]?.message).toMatch(/unknown shared condition "ghost"; defined: known/);
  });

  it('accepts valid conditions, custom operators and decorator chains', () => {
    expect(validateCondition({ all: [{ fact: 'a', operator: 'not:swap:contains', value: 1 }, { fact: 'b', operator: 'everyFact:near', value: 2 }] }, 'c', { operators: ['near'] })).toEqual([]);
    expect(validateCondition({ fact: 'a', operator: 'equal', value: 1 }, 'c', {})[0]?.message).toMatch(/root/);
  });
});
