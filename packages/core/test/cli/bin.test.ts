/** The real executable, through the root package.json script, as a user runs it. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers.js';

function pnpm(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', args, { cwd: REPO_ROOT, env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('pnpm leadpipe (spawned)', () => {
  it('runs bin.ts through the root script and exits 0 for a valid config', async () => {
    const r = await pnpm(['leadpipe', 'check', 'packages/core/test/cli/fixtures/tour.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('packages/core/test/cli/fixtures/tour.json: valid leadpipe config: 3 signals, 2 qualification rules, 1 routing rule, 3 owners, 3 tiers');
  });

  it('passes the exit code and the problems through for an invalid config', async () => {
    const r = await pnpm(['--silent', 'leadpipe', 'check', 'packages/core/test/cli/fixtures/tour-broken.json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('routing.minScore: must be between 0 and 100');
  });
});
