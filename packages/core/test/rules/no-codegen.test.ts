import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compileRules } from '../../src/rules/index.js';
import { sampleFacts, sampleRules } from './fixtures/sample-rules.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('./fixtures/no-codegen-script.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../../', import.meta.url));

describe("'auto' mode without code generation", () => {
  it('falls back to closures under --disallow-code-generation-from-strings and gives the codegen results', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--conditions=@leadpipe/source', '--import', 'tsx', script],
      { cwd: root, timeout: 60_000 },
    );
    const child = JSON.parse(stdout) as { mode: string; leanMode: string; results: unknown; leanResults: unknown };
    expect(child.mode).toBe('closure');
    expect(child.leanMode).toBe('closure');
    const conditions = { vip: { all: [{ fact: 'account', path: '$.plan.tier', operator: 'equal', value: 'enterprise' }] } };
    const local = compileRules(sampleRules, { mode: 'codegen', conditions });
    expect(local.mode).toBe('codegen');
    const expected = JSON.parse(JSON.stringify(sampleFacts.map((f) => local.run(f))));
    expect(child.results).toEqual(expected);
    // recordResults: false (the fast path) gives the same outcomes without per-condition results.
    const lean = compileRules(sampleRules, { mode: 'codegen', conditions, recordResults: false });
    expect(child.leanResults).toEqual(JSON.parse(JSON.stringify(sampleFacts.map((f) => lean.run(f)))));
  });

  it("uses codegen in 'auto' mode where code generation is allowed", () => {
    expect(compileRules(sampleRules, { conditions: { vip: { all: [] } } }).mode).toBe('codegen');
  });
});
