/**
 * Writes `schema/leadpipe.schema.json` from the zod config schema. Run after changing
 * `src/config/schema.ts`: `pnpm --filter @leadpipe/core gen:schema`. A test fails when the
 * committed file and the generator disagree.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/config/json-schema.js';

const out = fileURLToPath(new URL('../schema/leadpipe.schema.json', import.meta.url));
writeFileSync(out, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
