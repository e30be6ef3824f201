/**
 * Conditions over customer fields and engagement facts (`audience.where`, `unless`, `only_if`,
 * `branch.when[].if`), compiled by filtrex: a maintained expression compiler that only reaches the
 * data and functions we hand it. Never `eval`. Checked statically before anything runs: unknown
 * names (with "did you mean"), syntax errors and type errors are found at validate time with the
 * offset of the offending character.
 */
import { compileExpression } from 'filtrex';
import { closest } from '../util/did-you-mean.js';
import {
  CUSTOMER_FIELDS,
  ENGAGEMENT_FACTS,
  EXPRESSION_FUNCTIONS,
  SAMPLE_CUSTOMER,
  type CustomerValues,
} from './fields.js';

/** Where an expression is used: audiences only see customer fields, steps also engagement. */
export type ExpressionScope = 'audience' | 'step';

/** A problem in an expression, at a 0-based character offset of the expression text. */
export interface ExpressionProblem {
  offset: number;
  message: string;
}

/** What the static check found. */
export interface ExpressionCheck {
  problems: ExpressionProblem[];
  /** The field and fact names the expression reads. */
  names: Set<string>;
}

/** Data an expression is evaluated on: customer fields, plus engagement facts in steps. */
export type ExpressionData = Partial<CustomerValues> & Partial<Record<keyof typeof ENGAGEMENT_FACTS, boolean>>;

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'of', 'if', 'then', 'else', 'mod']);
const CONSTANTS = { true: true, false: false } as const;
// Mirrors filtrex's lexer, so that every token (and the first one it would refuse) has a position.
const TOKEN =
  /(\s+)|(\d+(?:\.\d+)?)|([a-zA-Z$_][.a-zA-Z0-9$_]*)|('(?:\\'|\\\\|[^'\\])*')|("(?:\\"|\\\\|[^"\\])*")|(==|!=|~=|>=|<=|[-+*/^(),<>])/y;

const HINTS: [RegExp, string][] = [
  [/^&&?/, 'use "and" to combine conditions'],
  [/^\|\|?/, 'use "or" for alternatives'],
  [/^=/, 'use == to compare'],
  [/^!/, 'use "not" to negate, != for "is not"'],
  [/^"/, 'a text is missing its closing double quote'],
  [/^'/, 'a field name in single quotes is missing its closing quote'],
  [/^%/, 'use "mod" for the remainder'],
  [/^[?:]/, 'use "if ... then ... else ..."'],
];

interface Token {
  kind: 'number' | 'symbol' | 'quoted' | 'string' | 'op';
  text: string;
  offset: number;
}

function tokenize(text: string): { tokens: Token[]; error?: ExpressionProblem } {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const offset = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) {
      const rest = text.slice(offset);
      const hint = HINTS.find(([re]) => re.test(rest))?.[1];
      return { tokens, error: { offset, message: `unexpected "${rest[0]}"${hint ? `: ${hint}` : ''}` } };
    }
    if (m[1]) continue;
    const kind = m[2] ? 'number' : m[3] ? 'symbol' : m[4] ? 'quoted' : m[5] ? 'string' : 'op';
    tokens.push({ kind, text: m[0], offset });
  }
  return { tokens };
}

function knownNames(scope: ExpressionScope): string[] {
  return scope === 'audience'
    ? Object.keys(CUSTOMER_FIELDS)
    : [...Object.keys(CUSTOMER_FIELDS), ...Object.keys(ENGAGEMENT_FACTS)];
}

/** The position and wording of a filtrex (jison) parse error. */
function parseProblem(text: string, tokens: Token[], message: string): ExpressionProblem {
  const lines = message.split('\n');
  const got = /got '([^']+)'/.exec(message)?.[1];
  if (got === 'EndOfExpression')
    return { offset: text.trimEnd().length, message: 'the condition ends too early: something is missing at the end' };
  // jison shows up to 20 consumed characters before the caret: find where they end in the text.
  const shown = (lines[1] ?? '').replace(/^\.\.\./, '');
  let end = text.length;
  for (let l = shown.length; l <= text.length; l++) {
    if (text.slice(0, l).endsWith(shown)) {
      end = l;
      break;
    }
  }
  const token = [...tokens].reverse().find((t) => t.offset < end) ?? tokens[0];
  const offset = token?.offset ?? 0;
  return { offset, message: `unexpected "${token?.text ?? text}" here` };
}

/** Statically checks an expression: tokens, names, syntax, and types on a sample customer. */
export function checkExpression(text: string, scope: ExpressionScope): ExpressionCheck {
  const names = new Set<string>();
  const problems: ExpressionProblem[] = [];
  if (text.trim() === '') return { names, problems: [{ offset: 0, message: 'the condition is empty' }] };
  const { tokens, error } = tokenize(text);
  if (error) return { names, problems: [error] };
  const known = knownNames(scope);
  tokens.forEach((t, i) => {
    if (t.kind === 'quoted') {
      const name = t.text.slice(1, -1);
      if (known.includes(name)) names.add(name);
      else
        problems.push({
          offset: t.offset,
          message: `'${name}' in single quotes is a field name; write texts in double quotes: "${name}"`,
        });
      return;
    }
    if (t.kind !== 'symbol' || KEYWORDS.has(t.text) || Object.hasOwn(CONSTANTS, t.text)) return;
    if (tokens[i + 1]?.text === '(') {
      if (!(EXPRESSION_FUNCTIONS as readonly string[]).includes(t.text)) {
        const hint = closest(t.text, EXPRESSION_FUNCTIONS);
        problems.push({
          offset: t.offset,
          message: `unknown function "${t.text}"${hint ? ` (did you mean "${hint}"?)` : `; functions: ${EXPRESSION_FUNCTIONS.join(', ')}`}`,
        });
      }
      return;
    }
    if (known.includes(t.text)) {
      names.add(t.text);
      return;
    }
    if (scope === 'audience' && Object.hasOwn(ENGAGEMENT_FACTS, t.text)) {
      problems.push({
        offset: t.offset,
        message: `"${t.text}" is only known once mails were sent: use it in a step's unless or only_if`,
      });
      return;
    }
    const hint = closest(t.text, known);
    problems.push({
      offset: t.offset,
      message: `unknown field "${t.text}"${hint ? ` (did you mean "${hint}"?)` : `; a text is written in double quotes: "${t.text}"`}`,
    });
  });
  if (problems.length > 0) return { names, problems };
  let fn: (data: unknown) => unknown;
  try {
    fn = compile(text);
  } catch (err) {
    return { names, problems: [parseProblem(text, tokens, (err as Error).message)] };
  }
  for (const engaged of [false, true]) {
    const sample = {
      ...SAMPLE_CUSTOMER,
      ...Object.fromEntries(Object.keys(ENGAGEMENT_FACTS).map((k) => [k, engaged])),
    };
    const result = fn(sample);
    if (result instanceof Error) {
      const detail = result.message
        .replace(/but got an? undefined/, 'but got nothing')
        .replace(/^Expected/, 'expected')
        .replace(/\.$/, '');
      return {
        names,
        problems: [
          { offset: 0, message: `${result instanceof SyntaxError ? 'invalid pattern' : 'wrong type'}: ${detail}` },
        ],
      };
    }
    if (typeof result !== 'boolean') {
      return {
        names,
        problems: [
          {
            offset: 0,
            message: `a condition must be true or false (e.g. orders_count >= 2), this one gives a ${Array.isArray(result) ? 'list' : typeof result}`,
          },
        ],
      };
    }
  }
  return { names, problems };
}

const compiled = new Map<string, (data: unknown) => unknown>();

/** Forgets every compiled expression (for benchmarks that measure cold compiles). */
export function clearExpressionCache(): void {
  compiled.clear();
}

/** Compiles an expression once (cached by its text); throws filtrex's error on bad syntax. */
function compile(text: string): (data: unknown) => unknown {
  let fn = compiled.get(text);
  if (!fn) {
    fn = compileExpression(text, {
      constants: CONSTANTS,
      // Only own properties of the data object are visible: nothing from prototypes.
      customProp: (name: string, get: (n: string) => unknown) => get(name),
    }) as (data: unknown) => unknown;
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(text, fn);
  }
  return fn;
}

/**
 * Evaluates a checked expression. A runtime error (e.g. comparing with an unknown value) counts as
 * "does not match": unknown never lets a customer through.
 */
export function evaluate(text: string, data: ExpressionData): boolean {
  return compile(text)(data) === true;
}
