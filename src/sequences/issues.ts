/**
 * Turns zod issues into the marketer's language: `expected a duration like 5d or 36h, got "5 days"`,
 * `unknown key "temlate" (did you mean "template"?)`, `missing required key "steps"`.
 */
import { isMap, isScalar, isSeq, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import type { Problem } from '../errors.js';
import { CHURN_REASONS } from '../shop/types.js';
import { closest } from '../util/did-you-mean.js';
import type { Locator } from './positions.js';
import { Sequence } from './schema.js';

const TYPE_NAMES: Record<string, string> = {
  string: 'a text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
};

/** How a value as written is shown in a message. */
export function shown(node: YamlNode | undefined, value: unknown): string {
  if (isMap(node) || (value !== null && typeof value === 'object' && !Array.isArray(value))) return 'a mapping';
  if (isSeq(node) || Array.isArray(value)) return 'a list';
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (isScalar(node) && node.source !== undefined) return String(node.source);
  return String(value);
}

/** Unwraps optional, default, pipe and similar wrappers of a zod schema. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walks zod's schema internals, which have no public type
function unwrap(s: any): any {
  for (let i = 0; i < 10 && s?.def; i++) {
    const d = s.def;
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe') s = d.in;
    else break;
  }
  return s;
}

/** The zod schema that validates the value at a path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walks zod's schema internals, which have no public type
function schemaAt(path: readonly PropertyKey[]): any {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walks zod's schema internals, which have no public type
  let s: any = unwrap(Sequence);
  for (const key of path) {
    if (!s) return undefined;
    if (s.def?.type === 'array') s = unwrap(s.def.element);
    else if (s.def?.type === 'object') s = unwrap(s.def.shape?.[key as string]);
    else if (s.def?.type === 'record') s = unwrap(s.def.valueType);
    else return undefined;
  }
  return s;
}

/** Keys the mapping at a path accepts. */
function acceptedKeys(path: readonly PropertyKey[]): string[] {
  const s = schemaAt(path);
  if (s?.def?.type === 'object') return Object.keys(s.def.shape);
  if (s?.def?.type === 'record') return (unwrap(s.def.keyType)?.options as string[] | undefined) ?? [];
  return [];
}

function hint(word: string, candidates: readonly string[]): string {
  const c = closest(word, candidates);
  return c ? ` (did you mean "${c}"?)` : '';
}

function rangeMessage(
  issue: { origin?: string; minimum?: unknown; maximum?: unknown; inclusive?: boolean },
  small: boolean,
  got: string,
): string {
  const bound = Number(small ? issue.minimum : issue.maximum);
  if (issue.origin === 'array')
    return small ? `needs at least ${bound} ${bound === 1 ? 'entry' : 'entries'}` : `has more than ${bound} entries`;
  if (issue.origin === 'string') return small ? 'must not be empty' : `is longer than ${bound} characters`;
  const op = small ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than';
  return `expected a number ${op} ${bound}, got ${got}`;
}

/** One zod issue as one or more problems at their positions. */
export function issueProblems(issue: z.core.$ZodIssue, at: Locator): Problem[] {
  const path = issue.path as PropertyKey[];
  const input = (issue as { input?: unknown }).input;
  const node = at.node(path);
  const got = shown(at.has(path) ? node : undefined, input);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const accepted = acceptedKeys(path);
      const isReason = path[path.length - 1] === 'cases';
      return issue.keys.map((key) =>
        at.problem(
          [...path, key],
          isReason
            ? `unknown churn reason "${key}"${hint(key, CHURN_REASONS)}; known: ${CHURN_REASONS.join(', ')}`
            : `unknown key "${key}"${hint(key, accepted)}`,
          {
            atKey: true,
          },
        ),
      );
    }
    case 'invalid_type': {
      if (input === undefined && !at.has(path))
        return [at.problem(path, `missing required key "${String(path[path.length - 1])}"`)];
      // A schema with its own wording (durations, conditions) says what to write.
      if (!issue.message.startsWith('Invalid input')) return [at.problem(path, `${issue.message}, got ${got}`)];
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      return [at.problem(path, `expected ${expected}, got ${got}`)];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      return [
        at.problem(
          path,
          `expected one of ${values.join(', ')}, got ${got}${typeof input === 'string' ? hint(input, values) : ''}`,
        ),
      ];
    }
    case 'invalid_union': {
      // A branch of the right type that failed a rule (holdout "80%") says more than the union.
      const specific = issue.errors.flat().find((e) => e.code !== 'invalid_type' && e.code !== 'invalid_format');
      if (specific?.code === 'invalid_key') {
        const key = String(specific.path[0]);
        return [
          at.problem(
            [...path, key],
            `${specific.issues[0]?.message ?? 'invalid key'}, got "${key}"${hint(key, ['en', 'de'])}`,
            { atKey: true },
          ),
        ];
      }
      if (specific)
        return [
          at.problem(
            path,
            specific.code === 'too_small' || specific.code === 'too_big'
              ? rangeMessage(specific as never, specific.code === 'too_small', got)
              : `${specific.message}, got ${got}`,
          ),
        ];
      const s = schemaAt(path);
      const what = s?.description ?? 'a different value';
      return [at.problem(path, `expected ${what}, got ${got}`)];
    }
    case 'too_small':
      return [at.problem(path, rangeMessage(issue as never, true, got))];
    case 'too_big':
      return [at.problem(path, rangeMessage(issue as never, false, got))];
    case 'invalid_format':
    case 'custom':
      return [at.problem(path, `${issue.message}, got ${got}`)];
    case 'invalid_key': {
      const key = String(path[path.length - 1]);
      return [at.problem(path, `invalid key "${key}"`, { atKey: true })];
    }
    default:
      return [at.problem(path, issue.message)];
  }
}
