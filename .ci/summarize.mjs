// Reads vitest's JSON report and prints one plain line: "N passed, N failed, N skipped".
// In CI (CI=true) it also fails when a test that needs a service (its title or file names
// [postgres] or [redis], or the file ends in .pg.test.ts / .redis.test.ts) was skipped:
// those must run in CI, where the services are available.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
const report = JSON.parse(readFileSync(file, 'utf8'));
let passed = 0;
let failed = 0;
let skipped = 0;
const serviceSkips = [];
for (const suite of report.testResults ?? []) {
  const needsService = /\.(pg|redis)\.test\.ts$/.test(suite.name ?? '');
  for (const test of suite.assertionResults ?? []) {
    if (test.status === 'passed') passed++;
    else if (test.status === 'failed') failed++;
    else {
      skipped++;
      const title = test.fullName ?? test.title ?? '';
      if (needsService || /\[(postgres|redis)\]/i.test(title)) serviceSkips.push(`${suite.name}: ${title}`);
    }
  }
  // A file that failed to load has no assertions but counts as a failure.
  if ((suite.assertionResults ?? []).length === 0 && suite.status === 'failed') failed++;
}
let code = failed > 0 ? 1 : 0;
if (process.env.CI === 'true' && serviceSkips.length > 0) {
  console.error(`ci: ${serviceSkips.length} test(s) needing PostgreSQL or Redis were skipped; in CI they must run:`);
  for (const s of serviceSkips.slice(0, 20)) console.error(`  - ${s}`);
  code = 1;
}
if (passed + failed === 0) {
  console.error('ci: no test ran');
  code = 1;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code);
