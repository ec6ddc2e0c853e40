/**
 * Docs that cannot rot: every JSON block in docs/config.md is a complete config that must
 * parse, and every TypeScript block in README.md must be a verbatim region of an example that
 * CI runs (marked `// #region <name>` … `// #endregion <name>`).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/index.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const blocks = (markdown: string, lang: string) => [...markdown.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] as string);

function exampleRegions(): string[] {
  const dir = new URL('packages/examples/src/', root);
  const files: string[] = [];
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (full.endsWith('.ts')) files.push(full);
    }
  };
  walk(dir.pathname);
  const regions: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\/\/ #region (\S+)\n([\s\S]*?)\n\s*\/\/ #endregion \1/g)) regions.push(dedent(m[2] as string));
  }
  return regions;
}

function dedent(text: string): string {
  const lines = text.split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n').trim();
}

describe('docs', () => {
  it('every JSON block in docs/config.md is a valid config', () => {
    const configs = blocks(read('docs/config.md'), 'json');
    expect(configs.length).toBeGreaterThanOrEqual(3);
    for (const text of configs) expect(() => parseConfig(JSON.parse(text))).not.toThrow();
  });

  it('every TypeScript block in README.md is a region of an example program', () => {
    const snippets = blocks(read('README.md'), 'ts');
    expect(snippets.length).toBeGreaterThanOrEqual(1);
    const regions = exampleRegions();
    for (const snippet of snippets) expect(regions).toContain(snippet.trim());
  });
});
