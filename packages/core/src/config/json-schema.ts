/**
 * The JSON Schema of the config, generated from the zod schema so the two cannot disagree.
 * `schema/leadpipe.schema.json` is this function's output; a test fails when it drifts.
 * @module
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

const CONDITION_OPERATORS_HINT =
  'equal, notEqual, in, notIn, contains, doesNotContain, lessThan, lessThanInclusive, greaterThan, greaterThanInclusive; decorators someFact:, someValue:, everyFact:, everyValue:, swap:, not:';

/** JSON Schema (draft 2020-12) of json-rules-engine's condition format. */
const conditionDefs = {
  Condition: {
    description: "A condition in json-rules-engine's JSON format: all / any / not / a named condition reference.",
    oneOf: [
      { type: 'object', required: ['all'], properties: { all: { type: 'array', items: { $ref: '#/$defs/NestedCondition' } }, name: { type: 'string' }, priority: { type: 'integer', minimum: 1 } }, additionalProperties: false },
      { type: 'object', required: ['any'], properties: { any: { type: 'array', items: { $ref: '#/$defs/NestedCondition' } }, name: { type: 'string' }, priority: { type: 'integer', minimum: 1 } }, additionalProperties: false },
      { type: 'object', required: ['not'], properties: { not: { $ref: '#/$defs/NestedCondition' }, name: { type: 'string' }, priority: { type: 'integer', minimum: 1 } }, additionalProperties: false },
      { type: 'object', required: ['condition'], properties: { condition: { type: 'string' }, name: { type: 'string' }, priority: { type: 'integer', minimum: 1 } }, additionalProperties: false },
    ],
  },
  NestedCondition: {
    anyOf: [
      { $ref: '#/$defs/Condition' },
      {
        type: 'object',
        description: 'A leaf: compare a fact (at an optional JSONPath) with a value or another fact.',
        required: ['fact', 'operator', 'value'],
        properties: {
          fact: { type: 'string' },
          operator: { type: 'string', description: `One of: ${CONDITION_OPERATORS_HINT}` },
          value: { description: 'A literal, or { "fact": …, "path"?: … } to compare with another fact.' },
          path: { type: 'string', description: 'JSONPath into the fact, e.g. "$.region".' },
          params: { type: 'object' },
          name: { type: 'string' },
          priority: { type: 'integer', minimum: 1 },
        },
        additionalProperties: false,
      },
    ],
  },
};

/** Returns the JSON Schema of a leadpipe config (input form: fields with defaults are optional). */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  const defs = { ...((generated.$defs as Record<string, unknown> | undefined) ?? {}), ...conditionDefs };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://leadpipe.dev/schema/leadpipe.schema.json',
    title: 'leadpipe configuration',
    description: 'Signals, scoring, qualification, routing, notifications, automations and privacy for a leadpipe engine.',
    ...Object.fromEntries(Object.entries(generated).filter(([k]) => k !== '$schema' && k !== '$defs')),
    $defs: defs,
  };
}
