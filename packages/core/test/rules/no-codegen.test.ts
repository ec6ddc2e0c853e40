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
    const child = JSON.parse(stdout) as { mode: string; results: unknown };
    expect(child.mode).toBe('closure');
    const local = compileRules(sampleRules, {
      mode: 'codegen',
      conditions: { vip: { all: [{ fact: 'account', path: '$.plan.tier', operator: 'equal', value: 'enterprise' }] } },
    });
    expect(local.mode).toBe('codegen');
    const expected = JSON.parse(JSON.stringify(sampleFacts.map((f) => local.run(f))));
    expect(child.results).toEqual(expected);
  });

  it("uses codegen in 'auto' mode where code generation is allowed", () => {
    expect(compileRules(sampleRules, { conditions: { vip: { all: [] } } }).mode).toBe('codegen');
  });
});
