import Handlebars from 'handlebars';
import type { Problem } from '../errors.js';
import { closest } from '../util/did-you-mean.js';
import type { Origin } from './expand.js';
import { HELPERS } from './helpers.js';
import { DATA_MODEL, type Field } from './model.js';

type Node = hbs.AST.Node;
type Expr = hbs.AST.Expression;
type Call = hbs.AST.MustacheStatement | hbs.AST.BlockStatement | hbs.AST.SubExpression;

/** A problem at a position of the expanded source (1-based line, 0-based column). */
export interface RawProblem {
  line: number;
  column: number;
  path: string;
  message: string;
}

/** Problems found by the static check; warnings do not stop sending. */
export interface SourceProblems {
  errors: RawProblem[];
  warnings: RawProblem[];
}

interface Context {
  field: Field;
  id: string;
}

interface Scope {
  contexts: Context[];
  params: Map<string, Context>[];
  guards: Set<string>;
}

const ROOT: Field = { type: 'object', doc: 'the data model', fields: DATA_MODEL };
const BUILTIN_BLOCKS = new Set(['if', 'unless', 'each', 'with']);
const VALUE_HELPERS = new Set<string>([...HELPERS, 'lookup']);
const TIME_HELPERS = new Set(['date', 'since', 'ago']);
const DATA_VARS: Record<string, Field> = {
  index: { type: 'number', doc: 'loop index' },
  key: { type: 'string', doc: 'loop key' },
  first: { type: 'boolean', doc: 'first iteration' },
  last: { type: 'boolean', doc: 'last iteration' },
};

const loc = (n: Node) => ({ line: n.loc?.start.line ?? 1, column: n.loc?.start.column ?? 0 });

/** The Handlebars expression as written, for messages: `{{last_order.totl}}`. */
function show(n: Call | hbs.AST.PathExpression): string {
  if (n.type === 'PathExpression') return `{{${n.original}}}`;
  const path = n.path.type === 'PathExpression' ? (n.path as hbs.AST.PathExpression).original : '…';
  return `{{${n.type === 'BlockStatement' ? '#' : ''}${path}${n.params.length ? ' …' : ''}}}`;
}

/**
 * Statically checks a template's Handlebars against the data model: unknown variables (with a
 * "did you mean"), names used inside `{{#each}}` that only exist at the root, unknown helpers,
 * objects printed whole, unescaped output (`{{{…}}}`), partials that could not be expanded, and
 * (as warnings) values that may be null printed outside an `{{#if}}` guard. `nonNull` collects the
 * printed values the data model guarantees to be present (they need no runtime null check).
 */
export function checkHandlebars(program: hbs.AST.Program, nonNull?: WeakSet<hbs.AST.Node>): SourceProblems {
  const out: SourceProblems = { errors: [], warnings: [] };
  const err = (n: Node, path: string, message: string) => out.errors.push({ ...loc(n), path, message });
  const warn = (n: Node, path: string, message: string) => out.warnings.push({ ...loc(n), path, message });

  const resolve = (p: hbs.AST.PathExpression, scope: Scope): Context | undefined => {
    let parts = p.parts;
    let ctx: Context;
    if (p.data) {
      const head = parts[0]!;
      if (head === 'root') {
        ctx = scope.contexts[0]!;
        parts = parts.slice(1);
      } else if (DATA_VARS[head] && parts.length === 1) {
        if (scope.contexts.length === 1) err(p, show(p), `@${head} only exists inside {{#each}}`);
        return { field: DATA_VARS[head]!, id: `@${head}` };
      } else {
        err(p, show(p), `unknown data variable @${head}; known: @root, @index, @key, @first, @last`);
        return undefined;
      }
    } else if (p.depth > 0) {
      const at = scope.contexts.length - 1 - p.depth;
      if (at < 0) {
        err(p, show(p), `"${p.original}" goes above the top of the data`);
        return undefined;
      }
      ctx = scope.contexts[at]!;
    } else {
      const param = p.original.startsWith('this')
        ? undefined
        : scope.params.map((m) => m.get(parts[0]!)).findLast((c) => c);
      if (param) {
        ctx = param;
        parts = parts.slice(1);
      } else ctx = scope.contexts[scope.contexts.length - 1]!;
    }
    let { field, id } = ctx;
    const guardedPrefixes: string[] = [];
    for (const part of parts) {
      if (field.nullable && !scope.guards.has(id)) guardedPrefixes.push(id);
      if (field.type === 'any') return { field, id: `${id}.${parts.join('.')}` };
      let next: Field | undefined;
      if (field.type === 'object') next = field.fields?.[part];
      else if (field.type === 'list')
        next = part === 'length' ? { type: 'number', doc: 'length' } : /^\d+$/.test(part) ? field.items : undefined;
      if (!next) {
        const known = field.type === 'object' ? Object.keys(field.fields ?? {}) : [];
        const hint = closest(part, known);
        const atRoot = ctx.id !== 'root' && id === ctx.id && DATA_MODEL[part] !== undefined;
        const where = id === 'root' ? '' : ` in ${id.replace(/^root\.?/, '') || 'the data'}`;
        err(
          p,
          show(p),
          `unknown variable "${p.original}"${where}` +
            (hint
              ? `; did you mean "${hint}"?`
              : atRoot
                ? `; inside {{#each}}/{{#with}} names refer to the item: write @root.${part}`
                : known.length
                  ? `; known here: ${known.join(', ')}`
                  : ''),
        );
        return undefined;
      }
      field = next;
      id = `${id}.${part}`;
    }
    for (const prefix of guardedPrefixes) {
      warn(
        p,
        show(p),
        `${prefix.replace(/^root\./, '')} may be null for some recipients; guard with {{#if ${prefix.replace(/^root\./, '')}}} (otherwise such a message fails)`,
      );
    }
    return { field, id };
  };

  const value = (e: Expr, scope: Scope): Context | undefined => {
    if (e.type === 'PathExpression') return resolve(e as hbs.AST.PathExpression, scope);
    if (e.type === 'SubExpression') {
      call(e as hbs.AST.SubExpression, scope);
      return { field: { type: 'any', doc: 'helper result' }, id: 'helper' };
    }
    return undefined; // a literal
  };

  const call = (n: Call, scope: Scope) => {
    const name = n.path.type === 'PathExpression' ? (n.path as hbs.AST.PathExpression).original : '';
    if (!VALUE_HELPERS.has(name) && !(n.type === 'BlockStatement' && BUILTIN_BLOCKS.has(name))) {
      const hint = closest(name, [...VALUE_HELPERS, ...BUILTIN_BLOCKS]);
      err(
        n,
        show(n),
        `unknown helper "${name}"${hint ? `; did you mean "${hint}"?` : `; helpers: ${[...VALUE_HELPERS].join(', ')}`}`,
      );
    }
    const args = n.params.map((p) => value(p, scope));
    for (const pair of n.hash?.pairs ?? []) value(pair.value, scope);
    const first = args[0]?.field.type;
    if (name === 'money' && first && !['money', 'number', 'any'].includes(first))
      err(
        n,
        show(n),
        `money expects an amount in minor units; ${(n.params[0] as hbs.AST.PathExpression).original} is a ${first}`,
      );
    if (TIME_HELPERS.has(name) && first && !['timestamp', 'number', 'any'].includes(first))
      err(n, show(n), `${name} expects a time; ${(n.params[0] as hbs.AST.PathExpression).original} is a ${first}`);
    if (VALUE_HELPERS.has(name) && n.params.length === 0 && name !== 'plural')
      err(n, show(n), `${name} needs a value, e.g. {{${name} total_spent}}`);
    return args;
  };

  const visit = (program: hbs.AST.Program | undefined, scope: Scope): void => {
    for (const node of program?.body ?? []) {
      switch (node.type) {
        case 'MustacheStatement': {
          const m = node as hbs.AST.MustacheStatement;
          if (!m.escaped)
            err(
              m,
              show(m as Call),
              'triple braces print without HTML escaping; use {{…}} (customer data must be escaped)',
            );
          if (m.path.type !== 'PathExpression') break;
          if (m.params.length || m.hash?.pairs.length) {
            call(m as Call, scope);
            break;
          }
          const path = m.path as hbs.AST.PathExpression;
          if (VALUE_HELPERS.has(path.original)) {
            err(m, show(path), `${path.original} needs a value, e.g. {{${path.original} total_spent}}`);
            break;
          }
          const v = resolve(path, scope);
          // A value the data model guarantees (never null, or checked by an enclosing {{#if}}).
          if (v && v.field.type !== 'any' && (!v.field.nullable || scope.guards.has(v.id))) nonNull?.add(m);
          if (v && (v.field.type === 'object' || v.field.type === 'list')) {
            const keys = Object.keys(v.field.fields ?? v.field.items?.fields ?? {});
            err(
              m,
              show(path),
              `"${path.original}" is ${v.field.type === 'list' ? 'a list: loop over it with {{#each}}' : `an object: print one of its fields${keys.length ? ` (${keys.join(', ')})` : ''}`}`,
            );
          } else if (v && v.field.nullable && !scope.guards.has(v.id)) {
            warn(
              m,
              show(path),
              `${path.original} may be null for some recipients; guard with {{#if ${path.original}}} or use {{default ${path.original} "…"}} (otherwise such a message fails)`,
            );
          }
          break;
        }
        case 'BlockStatement': {
          const b = node as hbs.AST.BlockStatement;
          const name = b.path.original;
          const [arg] = call(b, scope);
          const guards = new Set(scope.guards);
          if (arg && arg.id !== 'helper') guards.add(arg.id);
          if (name === 'each' || name === 'with') {
            if (arg && name === 'each' && !['list', 'object', 'any'].includes(arg.field.type))
              err(
                b,
                show(b),
                `{{#each}} needs a list; ${(b.params[0] as hbs.AST.PathExpression).original} is a ${arg.field.type}`,
              );
            if (arg && name === 'with' && !['object', 'any'].includes(arg.field.type))
              err(
                b,
                show(b),
                `{{#with}} needs an object; ${(b.params[0] as hbs.AST.PathExpression).original} is a ${arg.field.type}`,
              );
            const item: Context = arg
              ? name === 'each'
                ? { field: arg.field.items ?? { type: 'any', doc: 'entry' }, id: `${arg.id}[]` }
                : arg
              : { field: { type: 'any', doc: 'unknown' }, id: 'unknown' };
            const params = new Map<string, Context>();
            const [itemName, indexName] = b.program?.blockParams ?? [];
            if (itemName) params.set(itemName, item);
            if (indexName) params.set(indexName, { field: { type: 'number', doc: 'index' }, id: '@index' });
            visit(b.program, { contexts: [...scope.contexts, item], params: [...scope.params, params], guards });
            visit(b.inverse, scope);
          } else if (name === 'unless') {
            visit(b.program, scope);
            visit(b.inverse, { ...scope, guards });
          } else {
            visit(b.program, { ...scope, guards });
            visit(b.inverse, scope);
          }
          break;
        }
        case 'PartialStatement':
        case 'PartialBlockStatement':
          err(
            node,
            '{{> …}}',
            'this partial could not be included: write {{> name}} with a lower-case name and no arguments; it is read from partials/name.mjml',
          );
          break;
        case 'DecoratorBlock':
        case 'Decorator':
          err(node, '{{* …}}', 'decorators are not supported in templates');
          break;
      }
    }
  };

  visit(program, { contexts: [{ field: ROOT, id: 'root' }], params: [], guards: new Set() });
  return out;
}

/** Parses and checks a Handlebars source; a parse error becomes one problem at its line. */
export function checkSource(source: string): SourceProblems & { program?: hbs.AST.Program } {
  let program: hbs.AST.Program;
  try {
    program = Handlebars.parse(source);
  } catch (e) {
    const message = (e as Error).message;
    const line = Number(/line (\d+)/.exec(message)?.[1] ?? 1);
    return {
      errors: [{ line, column: 0, path: '', message: `Handlebars syntax: ${message.split('\n').pop()}` }],
      warnings: [],
    };
  }
  const problems = checkHandlebars(program);
  source.split('\n').forEach((text, i) => {
    const at = text.search(/<mj-include\b/i);
    if (at >= 0)
      problems.errors.push({
        line: i + 1,
        column: at,
        path: '<mj-include>',
        message: 'mj-include is not allowed (it could read any file): use {{> partial}} for files in partials/',
      });
  });
  return { ...problems, program };
}

/**
 * Checks a subject or preheader template (from the sequence YAML) against the data model.
 * Returns messages like `unknown variable "frist_name"; did you mean "first_name"?`.
 */
export function checkHeaderTemplate(text: string): string[] {
  const r = checkSource(text);
  return r.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message));
}

/** Maps a problem in the expanded source to the marketer's file and line. */
export function toProblem(p: RawProblem, origins: Origin[], dirLabel: string): Problem {
  const o = origins[p.line - 1] ?? origins[origins.length - 1] ?? { file: '?', line: p.line, column: 0 };
  return {
    file: `${dirLabel}/${o.file}`,
    line: o.line,
    column: o.column + p.column + 1,
    path: p.path,
    message: p.message,
  };
}
