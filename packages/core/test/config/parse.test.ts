import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, configJsonSchema, isLeadpipeError, parseConfig, safeParseConfig, type ConfigInput } from '../../src/index.js';

const base = {
  signals: { view: { points: 5 }, bookmark: { points: 20, component: 'intent' } },
  qualification: {
    rules: [{ name: 'hot', conditions: { all: [{ fact: 'score', operator: 'greaterThanInclusive', value: 50 }] }, stage: 'qualified', tier: 'hot' }],
    tiers: [
      { name: 'hot', minScore: 70 },
      { name: 'warm', minScore: 30 },
    ],
  },
  routing: { owners: [{ id: 'alice' }], rules: [{ name: 'all', to: { owners: ['alice'] } }] },
} satisfies ConfigInput;

// Tests reach into the document freely to break one thing at a time.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const clone = (): any => structuredClone(base);

function issuesOf(input: unknown) {
  const result = safeParseConfig(input);
  if (result.success) throw new Error('expected the config to be rejected');
  return result.error.issues;
}

describe('parseConfig', () => {
  it('accepts a valid config and fills defaults', () => {
    const config = parseConfig(base);
    expect(config.timeZone).toBe('UTC');
    expect(config.leadKey).toEqual(['subjectId']);
    expect(config.signals.view?.component).toBe('engagement');
    expect(config.qualification.stages[0]).toBe('new');
    expect(config.routing?.dedupeWindow).toBe('7d');
    // Components not written are derived from what the signals name, weight 1 each.
    expect(Object.keys(config.scoring.components).sort()).toEqual(['engagement', 'intent']);
  });

  it('reports three unrelated mistakes at once, each with its JSON path', () => {
    const bad = clone();
    bad.signals.view.points = 'five';
    bad.qualification.rules[0].conditions.all[0].fact = 'scroe';
    bad.routing.rules[0].to.owners = ['bob'];
    const issues = issuesOf(bad);
    const paths = issues.map((i) => i.path);
    expect(paths).toContain('signals.view.points');
    expect(paths).toContain('qualification.rules[0].conditions.all[0].fact');
    expect(paths).toContain('routing.rules[0].to.owners[0]');
    const thrown = (() => {
      try {
        parseConfig(bad, { source: 'bad.json' });
      } catch (e) {
        return e;
      }
    })();
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(isLeadpipeError(thrown, 'CONFIG_INVALID')).toBe(true);
    expect((thrown as Error).message).toContain('bad.json');
    expect((thrown as Error).message).toContain('routing.rules[0].to.owners[0]');
  });

  it('names unknown signals, facts, components and operators (including decorator chains) in rules', () => {
    const bad = clone();
    bad.qualification.rules[0].conditions = {
      any: [
        { fact: 'counts', path: '$.itinerary', operator: 'greaterThan', value: 0 },
        { fact: 'components', path: '$.fit', operator: 'greaterThan', value: 10 },
        { fact: 'score', operator: 'atLeast', value: 5 },
        { fact: 'profile', path: '$.tags', operator: 'someFact:bogus', value: 'x' },
        { fact: 'profile', path: '$.tags', operator: 'everyFact:equal', value: 'ok' },
      ],
    };
    const issues = issuesOf(bad);
    const byPath = new Map(issues.map((i) => [i.path, i.message]));
    expect(byPath.get('qualification.rules[0].conditions.any[0].path') ?? byPath.get('qualification.rules[0].conditions.any[0].fact')).toMatch(/unknown signal "itinerary"/);
    expect([...byPath.values()].join('\n')).toMatch(/unknown component "fit"/);
    expect([...byPath.keys()]).toContain('qualification.rules[0].conditions.any[2].operator');
    expect([...byPath.keys()]).toContain('qualification.rules[0].conditions.any[3].operator');
    expect([...byPath.keys()]).not.toContain('qualification.rules[0].conditions.any[4].operator');
  });

  it('rejects unordered and overlapping tiers and thresholds outside 0–100', () => {
    const bad = clone();
    bad.qualification.tiers = [
      { name: 'warm', minScore: 30 },
      { name: 'hot', minScore: 70 },
      { name: 'cold', minScore: 0, maxScore: 40 },
      { name: 'ice', minScore: -5 },
    ];
    bad.routing.minScore = 120;
    bad.qualification.rules[0].conditions.all[0].value = 150;
    const paths = issuesOf(bad).map((i) => i.path);
    expect(paths).toContain('qualification.tiers[1].minScore'); // unordered
    expect(paths).toContain('qualification.tiers[2].maxScore'); // overlaps warm, which starts at 30
    expect(paths).toContain('qualification.tiers[3].minScore'); // out of range
    expect(paths).toContain('routing.minScore');
    expect(paths).toContain('qualification.rules[0].conditions.all[0].value');
  });

  it('rejects unknown stages, tiers, owners, lifecycle events and template placeholders', () => {
    const bad = clone();
    bad.qualification.rules[0].stage = 'golden';
    bad.qualification.rules[0].tier = 'lukewarm';
    bad.routing.fallback = { owners: ['nobody'] };
    bad.automations = [{ name: 'x', on: 'lead.exploded', actions: [{ type: 'task' }] }];
    bad.notifications = { templates: { hot: { body: 'Lead {{lead.scroe}} for {{owner.name}}' } }, tiers: { hot: { channels: ['email'], template: 'hot' } } };
    const paths = issuesOf(bad).map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'qualification.rules[0].stage',
        'qualification.rules[0].tier',
        'routing.fallback.owners[0]',
        'automations[0].on',
        'notifications.templates.hot.body',
      ]),
    );
  });

  it('rejects unknown fields with their path and what to do', () => {
    const issues = issuesOf({ ...base, signals: { view: { points: 5, pionts: 3 } } });
    expect(issues).toContainEqual(expect.objectContaining({ path: 'signals.view.pionts', message: expect.stringMatching(/unknown field "pionts"/) }));
  });

  it('rejects a bad time zone and bad durations', () => {
    const paths = issuesOf({ ...base, timeZone: 'Mars/Olympus', signals: { view: { points: 1, halfLife: '3 days' } } }).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['timeZone', 'signals.view.halfLife']));
  });
});

describe('JSON Schema', () => {
  it('the committed schema matches the zod schema (regenerate with `pnpm --filter @leadpipe/core gen:schema`)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schema/leadpipe.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });
});
