import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { cli, FIXTURES } from './helpers.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'leadpipe-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('leadpipe check', () => {
  it('prints a one-line summary of a valid config and exits 0', async () => {
    const r = await cli(['check', 'tour.json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('tour.json: valid leadpipe config: 3 signals, 2 qualification rules, 1 routing rule, 3 owners, 3 tiers\n');
    expect(r.stderr).toBe('');
  });

  it('lists every problem of an invalid config with its JSON path and exits 1', async () => {
    const r = await cli(['check', 'tour-broken.json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('leadpipe: tour-broken.json is not a valid leadpipe config (3 problems):');
    // Three unrelated mistakes: a malformed duration, a rule naming an undeclared signal, a threshold out of range.
    expect(lines).toContain('signals.view.halfLife: expected a duration such as "30m", "1h", "7d" or "2w"');
    expect(lines.some((l) => l.startsWith('qualification.rules[0].conditions.all[0]') && l.includes('unknown signal "itinerary_add"'))).toBe(true);
    expect(lines).toContain('routing.minScore: must be between 0 and 100 (scores are 0–100)');
  });

  it('reports a config that is not JSON with the line and column, exit 1', async () => {
    const r = await cli(['check', 'not-json.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^leadpipe: not-json\.json is not valid JSON at line 4, column 3: .*position 48/);
  });

  it('reports an empty config file, exit 1', async () => {
    const r = await cli(['check', 'empty.ndjson']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('empty.ndjson is empty');
  });

  it('names the path and the OS reason when the file cannot be read, exit 3', async () => {
    const r = await cli(['check', 'missing.json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`leadpipe: cannot read config file missing.json (${join(FIXTURES, 'missing.json')}): no such file or directory (ENOENT)\n`);
    const dir = await cli(['check', FIXTURES]);
    expect(dir.code).toBe(3);
    expect(dir.stderr).toContain('(EISDIR)');
  });

  it('is a usage error without a file or with two, exit 2', async () => {
    const none = await cli(['check']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('missing config file: pass it, e.g. leadpipe check leadpipe.json');
    const two = await cli(['check', 'a.json', 'b.json']);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('check takes one config file, got 2');
  });

  it('resolves relative paths against io.cwd', async () => {
    const r = await cli(['check', 'fixtures/tour.json'], { cwd: join(FIXTURES, '..') });
    expect(r.code).toBe(0);
  });
});

describe('leadpipe schema', () => {
  const expected = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;

  it('prints the JSON Schema, 2-space indented with a trailing newline', async () => {
    const r = await cli(['schema']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected);
    expect(JSON.parse(r.stdout).$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('writes it with --out', async () => {
    const out = join(tmp, 'schema.json');
    const r = await cli(['schema', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(await readFile(out, 'utf8')).toBe(expected);
  });

  it('exits 3 naming the path when --out cannot be written', async () => {
    const out = join(tmp, 'no-such-dir', 'schema.json');
    const r = await cli(['schema', '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`leadpipe: cannot write schema file ${out}: no such file or directory (ENOENT)\n`);
  });

  it('rejects a stray argument and a missing --out value, exit 2', async () => {
    expect((await cli(['schema', 'x.json'])).code).toBe(2);
    const r = await cli(['schema', '--out']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--out needs a value, e.g. --out leads.ndjson');
  });
});

describe('leadpipe (global)', () => {
  it('prints help with --help and for each command, exit 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: leadpipe <command> [options]');
    expect(r.stdout).toContain('3  a file could not be read or written');
    for (const command of ['check', 'schema', 'run', 'explain', 'simulate']) {
      const h = await cli([command, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(`Usage: leadpipe ${command}`);
      expect(h.stdout).toContain('Exit codes:');
      expect((await cli(['help', command])).stdout).toBe(h.stdout);
    }
  });

  it('prints the version of @leadpipe/core', async () => {
    const pkg = JSON.parse(await readFile(join(FIXTURES, '../../../package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('exits 2 on no command, an unknown command or an unknown global flag', async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: leadpipe');
    const typo = await cli(['chek', 'tour.json']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown command "chek": did you mean "check"?');
    expect((await cli(['--verbose'])).code).toBe(2);
    expect((await cli(['help', 'nope'])).code).toBe(2);
  });

  it('exits 4 with the stack on an unexpected error', async () => {
    const stderr = { text: '', write(c: string) { this.text += c; return true; } };
    const stdout = { write(): boolean { throw new Error('disk on fire'); } };
    const { main } = await import('../../src/cli/main.js');
    const code = await main(['check', 'tour.json'], { stdout, stderr, cwd: FIXTURES });
    expect(code).toBe(4);
    expect(stderr.text).toContain('leadpipe: unexpected internal error: disk on fire');
    expect(stderr.text).toContain('This is a bug in leadpipe');
  });
});
