/**
 * Every example command in docs/cli.md is run here, from a directory that looks like the
 * repository root, and checked against its documented exit code (`# exit N`, default 0) and,
 * when a ```text block follows it, its exact output. `UPDATE_CLI_DOCS=1` rewrites those blocks.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT, sink } from './helpers.js';

const DOC = join(REPO_ROOT, 'docs/cli.md');

interface Example {
  command: string;
  exit: number;
  /** Line range of the ```text block documenting the output, if any. */
  output?: { start: number; end: number; text: string };
}

/** Commands in ```sh blocks, each with its expected exit code and documented output. */
function examples(markdown: string): Example[] {
  const lines = markdown.split('\n');
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```sh') continue;
    const commands: Example[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) {
      const line = (lines[i] as string).trim();
      if (line === '') continue;
      const match = /^(.*?)\s*#\s*exit (\d)$/.exec(line);
      commands.push({ command: match ? (match[1] as string) : line, exit: match ? Number(match[2]) : 0 });
    }
    let j = i + 1;
    while (j < lines.length && lines[j] === '') j++;
    if (commands.length === 1 && lines[j] === '```text') {
      const start = j + 1;
      let end = start;
      while (end < lines.length && lines[end] !== '```') end++;
      (commands[0] as Example).output = { start, end, text: lines.slice(start, end).join('\n') };
    }
    out.push(...commands);
  }
  return out;
}

/** Splits a command line into words, honouring single and double quotes. */
function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? (m[3] as string));
  return out;
}

let root: string;
const markdown = await readFile(DOC, 'utf8');
const all = examples(markdown);
const updates: Array<{ example: Example; text: string }> = [];

beforeAll(async () => {
  // A scratch "repository root": the real packages, and room for the files examples write.
  root = await mkdtemp(join(tmpdir(), 'leadpipe-docs-'));
  await symlink(join(REPO_ROOT, 'packages'), join(root, 'packages'), 'dir');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  if (process.env.UPDATE_CLI_DOCS === '1' && updates.length > 0) {
    const lines = markdown.split('\n');
    for (const { example, text } of [...updates].sort((a, b) => (b.example.output?.start ?? 0) - (a.example.output?.start ?? 0))) {
      const o = example.output as NonNullable<Example['output']>;
      lines.splice(o.start, o.end - o.start, ...text.split('\n'));
    }
    await writeFile(DOC, lines.join('\n'));
  }
});

describe('docs/cli.md examples', () => {
  it('has examples for every command', () => {
    const used = new Set(all.map((e) => words(e.command).find((w, i, a) => a[i - 1] === 'leadpipe')));
    for (const command of ['check', 'schema', 'run', 'explain', 'simulate', '--help', '--version']) expect(used).toContain(command);
    expect(all.length).toBeGreaterThanOrEqual(20);
  });

  it.each(all.map((e) => [e.command, e] as const))('%s', async (_, example) => {
    let argv = words(example.command);
    let stdin: NodeJS.ReadableStream | undefined;
    if (argv[0] === 'cat' && argv[2] === '|') {
      stdin = createReadStream(join(root, argv[1] as string));
      argv = argv.slice(3);
    }
    expect(['pnpm leadpipe', 'npx leadpipe']).toContain(argv.slice(0, 2).join(' '));
    // stdout and stderr in one buffer, interleaved as on a terminal.
    const both = sink();
    const code = await main(argv.slice(2), { stdout: both, stderr: both, cwd: root, isTTY: false, ...(stdin ? { stdin: stdin as AsyncIterable<Uint8Array> } : {}) });
    expect(code, both.text).toBe(example.exit);
    expect(both.text.length).toBeGreaterThan(0);
    if (example.output) {
      const actual = both.text.replace(/\n$/, '');
      if (process.env.UPDATE_CLI_DOCS === '1') updates.push({ example, text: actual });
      else expect(actual).toBe(example.output.text);
    }
  });
});
