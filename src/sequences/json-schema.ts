import { z } from 'zod';
import { CUSTOMER_FIELDS, ENGAGEMENT_FACTS } from './fields.js';
import { Sequence } from './schema.js';

/**
 * The JSON Schema (draft 2020-12) of the sequence language, generated from the same zod schema
 * the validator uses, so editors (yaml-language-server) complete and check exactly what
 * `comeback validate` accepts. Rules across keys (unique ids, expressions) are only checked by
 * `comeback validate`.
 */
export function sequenceJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Sequence, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  const fields = Object.keys(CUSTOMER_FIELDS).join(', ');
  const facts = Object.keys(ENGAGEMENT_FACTS).join(', ');
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://comeback.dev/schema/sequence.json',
    title: 'Comeback win-back sequence',
    description: `A win-back sequence (see docs/SEQUENCES.md). Conditions use the customer fields ${fields}; steps also ${facts}.`,
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}
