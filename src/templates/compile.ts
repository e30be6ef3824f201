import { createHash, randomBytes } from 'node:crypto';
import Handlebars from 'handlebars';
import type { FormatCallback } from 'html-to-text';
import type { Problem } from '../errors.js';
import { checkHandlebars, checkSource, toProblem, type RawProblem } from './check.js';
import type { Expanded } from './expand.js';
import { HELPERS, VALUE_HELPER } from './helpers.js';
import { HREF, LINK_HELPER, TEXT_LINK_HELPER, type LinkSettings } from './links.js';
import { REQUIRED_MARKERS } from './model.js';

type Renderers = { mjml2html: typeof import('mjml'); convert: typeof import('html-to-text').convert };
let renderers: Promise<Renderers> | undefined;

/**
 * MJML brings juice, cheerio and undici (about a second to load): they are loaded on the first
 * compile, so commands and processes that never render a mail start without them.
 */
function loadRenderers(): Promise<Renderers> {
  renderers ??= Promise.all([import('mjml'), import('html-to-text')]).then(([m, h]) => ({
    mjml2html: m.default,
    convert: h.convert,
  }));
  return renderers;
}

/** A template compiled once per content version: only Handlebars runs per recipient. */
export interface CompiledTemplate {
  name: string;
  /** The locale of the file that serves it (after fallback), e.g. `de`. */
  locale: string;
  /** The body file, relative to the templates folder. */
  file: string;
  /** Content hash of the expanded source (the cache key of the version). */
  hash: string;
  /** Renders `HTML + separator + text` in one call (see `renderBody`, which splits it). */
  render: Handlebars.TemplateDelegate;
  /** A random marker between the two parts (no recipient data can guess it). */
  separator: string;
  /** Top-level data-model keys the template uses (lets personalisation skip unused queries). */
  uses: ReadonlySet<string>;
  links: LinkSettings;
  /** Non-fatal findings of the check (values that may be null, printed unguarded). */
  warnings: Problem[];
}

/** The outcome of compiling: the template, or the problems that keep it from being sent. */
export interface CompileResult {
  compiled?: CompiledTemplate;
  errors: Problem[];
  warnings: Problem[];
}

type Program = hbs.AST.Program;

function walk(program: Program | undefined, fn: (n: hbs.AST.Node, depth: number) => void, depth = 0): void {
  for (const node of program?.body ?? []) {
    fn(node, depth);
    if (node.type === 'BlockStatement') {
      walk((node as hbs.AST.BlockStatement).program, fn, depth + 1);
      walk((node as hbs.AST.BlockStatement).inverse, fn, depth + 1);
    }
  }
}

/** The legally required parts missing from a compiled template (outside any conditional block). */
export function missingMarkers(program: Program): string[] {
  const found = new Set<string>();
  const body = program.body;
  body.forEach((node, i) => {
    if (node.type !== 'MustacheStatement') return;
    const path = (node as hbs.AST.MustacheStatement).path;
    if (path.type !== 'PathExpression') return;
    const marker = REQUIRED_MARKERS.find((m) => m.path === (path as hbs.AST.PathExpression).original);
    if (!marker) return;
    const before = body[i - 1];
    if (
      marker.href &&
      !(before?.type === 'ContentStatement' && /<a\b[^>]*\bhref="$/i.test((before as hbs.AST.ContentStatement).value))
    )
      return;
    found.add(marker.path);
  });
  return REQUIRED_MARKERS.filter((m) => !found.has(m.path)).map(
    (m) => `missing ${m.what}; it belongs in the footer partial and must not sit inside {{#if}}/{{#each}}`,
  );
}

/** The Handlebars statements of a program in document order, as comparable signatures. */
function signatures(program: Program): { sig: string; node: hbs.AST.Node }[] {
  const out: { sig: string; node: hbs.AST.Node }[] = [];
  walk(program, (n) => {
    if (n.type === 'MustacheStatement' || n.type === 'BlockStatement') {
      const m = n as hbs.AST.MustacheStatement;
      out.push({
        sig: `${n.type === 'BlockStatement' ? '#' : ''}${m.path.type === 'PathExpression' ? (m.path as hbs.AST.PathExpression).original : '?'}/${m.params.length}`,
        node: n,
      });
    }
  });
  return out;
}

/** The printed values of a program that the data model guarantees to be present. */
function guaranteed(program: Program): WeakSet<hbs.AST.Node> {
  const nonNull = new WeakSet<hbs.AST.Node>();
  checkHandlebars(program, nonNull);
  return nonNull;
}

/** Top-level data-model keys a program refers to (a superset: item fields inside loops count too). */
function usedKeys(program: Program): Set<string> {
  const uses = new Set<string>();
  const visit = (e: hbs.AST.Expression) => {
    if (e.type === 'PathExpression') {
      const p = e as hbs.AST.PathExpression;
      const head = p.data && p.parts[0] === 'root' ? p.parts[1] : p.parts[0];
      if (head) uses.add(head);
    } else if (e.type === 'SubExpression') (e as hbs.AST.SubExpression).params.forEach(visit);
  };
  walk(program, (n) => {
    const c = n as hbs.AST.MustacheStatement;
    if (c.path) visit(c.path);
    c.params?.forEach(visit);
    c.hash?.pairs.forEach((p) => visit(p.value));
  });
  return uses;
}

/**
 * One program that renders the HTML part, a separator and the text part in a single call (one
 * Handlebars setup per message instead of two): the text half prints unescaped and its links go
 * through the text variant of the link helper.
 */
function combine(html: Program, text: Program, separator: string): Program {
  walk(text, (n) => {
    if (n.type === 'MustacheStatement') (n as hbs.AST.MustacheStatement).escaped = false;
    const b = n as hbs.AST.BlockStatement;
    if (n.type === 'BlockStatement' && b.path.original === LINK_HELPER)
      b.path = { ...b.path, parts: [TEXT_LINK_HELPER], original: TEXT_LINK_HELPER };
  });
  const sep = {
    type: 'ContentStatement',
    value: separator,
    original: separator,
    rightStripped: false,
    leftStripped: false,
    loc: html.loc,
  } as unknown as hbs.AST.ContentStatement;
  return { ...html, body: [...html.body, sep, ...text.body] };
}

/**
 * Wraps every plain `{{value}}` in the value helper, so a null fails the message instead of printing
 * a blank; values in `nonNull` (guaranteed by the data model, see `checkHandlebars`) are left as
 * they are: strict mode still fails on a key the data lacks.
 */
export function guardValues(program: Program, nonNull?: WeakSet<hbs.AST.Node>): Program {
  walk(program, (n) => {
    if (n.type !== 'MustacheStatement' || nonNull?.has(n)) return;
    const m = n as hbs.AST.MustacheStatement;
    if (m.path.type !== 'PathExpression' || m.params.length || m.hash?.pairs.length) return;
    const path = m.path as hbs.AST.PathExpression;
    if ((HELPERS as readonly string[]).includes(path.original)) return;
    const name: hbs.AST.StringLiteral = {
      type: 'StringLiteral',
      value: path.original,
      original: path.original,
      loc: path.loc,
    };
    m.params = [path, name];
    m.path = {
      type: 'PathExpression',
      data: false,
      depth: 0,
      parts: [VALUE_HELPER],
      original: VALUE_HELPER,
      loc: path.loc,
    };
  });
  return program;
}

type DomNode = { type: string; data?: string; name?: string; children?: DomNode[] };
const hasText = (nodes: DomNode[] = []): boolean =>
  nodes.some((n) => (n.type === 'text' ? !!n.data?.trim() : n.name !== 'img' && hasText(n.children)));

const TEXT_OPTIONS = {
  // No wrapping: values substituted per recipient would break the line lengths anyway.
  wordwrap: false as const,
  formatters: {
    // A linked picture says nothing in plain text; its link is repeated by the button next to it.
    textLink: ((elem, walk, builder, options) => {
      if (hasText((elem as DomNode).children)) builder.options.formatters.anchor!(elem, walk, builder, options);
    }) as FormatCallback,
  },
  selectors: [
    { selector: 'img', format: 'skip' },
    { selector: 'div[style*="display:none"]', format: 'skip' },
    { selector: 'div', format: 'block', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
    {
      selector: 'a',
      format: 'textLink',
      options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['<', '>'] as [string, string] },
    },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((h) => ({
      selector: h,
      format: 'heading',
      options: { uppercase: false },
    })),
    { selector: 'th', format: 'block' },
  ],
};

/**
 * A syntax error of the expanded source is reported where the parser gave up (often the end of
 * the layout for an unclosed block); parsing each file on its own finds the file that is wrong.
 */
function syntaxErrors(x: Expanded, dirLabel: string): Problem[] | undefined {
  const byFile = new Map<string, Map<number, string>>();
  x.source.split('\n').forEach((text, i) => {
    const o = x.origins[i]!;
    const lines = byFile.get(o.file) ?? new Map<number, string>();
    lines.set(o.line, (lines.get(o.line) ?? '') + text);
    byFile.set(o.file, lines);
  });
  for (const [file, lines] of byFile) {
    const max = Math.max(...lines.keys());
    const text = Array.from({ length: max }, (_, i) => lines.get(i + 1) ?? '').join('\n');
    const r = checkSource(text);
    if (!r.program)
      return r.errors.map((e) => ({
        file: `${dirLabel}/${file}`,
        line: e.line,
        column: 1,
        path: e.path,
        message: e.message,
      }));
  }
  return undefined;
}

/**
 * Compiles an expanded template once per content version: static check of the Handlebars against
 * the data model, MJML → HTML (still holding Handlebars expressions), compliance markers, a check
 * that MJML kept every expression in place, then the plain-text part derived from that HTML, and
 * both compiled by Handlebars (strict). Problems name the marketer's file and line.
 */
export async function compileExpanded(
  hb: typeof Handlebars,
  name: string,
  x: Expanded,
  dirLabel: string,
  links: LinkSettings,
): Promise<CompileResult> {
  const where = (p: RawProblem) => toProblem(p, x.origins, dirLabel);
  const checked = checkSource(x.source);
  const errors = checked.errors.map(where);
  const warnings = checked.warnings.map(where);
  const fileProblem = (message: string, path = ''): Problem => ({
    file: `${dirLabel}/${x.file}`,
    line: 1,
    column: 1,
    path,
    message,
  });
  if (!checked.program) return { errors: syntaxErrors(x, dirLabel) ?? errors, warnings };

  // ignoreIncludes: a template may not read files beyond what Comeback expanded for it.
  const { mjml2html, convert } = await loadRenderers();
  const result = await mjml2html(x.source, { validationLevel: 'soft', ignoreIncludes: true, keepComments: false });
  for (const e of (result.errors ?? []) as { line: number; message: string; tagName: string }[]) {
    errors.push(where({ line: e.line, column: 0, path: `<${e.tagName}>`, message: `MJML: ${e.message}` }));
  }
  // Indentation between tags is bytes on the wire and work per recipient; it never shows.
  const html = result.html.replace(/>[ \t]*\n\s*</g, '>\n<');
  let htmlAst: Program;
  try {
    htmlAst = Handlebars.parse(html);
  } catch (e) {
    errors.push(
      fileProblem(
        `the HTML produced by MJML is no valid Handlebars (an expression inside an attribute MJML rewrote?): ${(e as Error).message.split('\n').pop()}`,
      ),
    );
    return { errors, warnings };
  }
  for (const m of missingMarkers(htmlAst)) errors.push(fileProblem(m));

  // MJML drops text that sits between components: a {{#each}} there would silently vanish. Blocks
  // must keep their order; values only their count (MJML reorders attributes within a tag).
  const have = signatures(htmlAst);
  const haveBlocks = have.filter((h) => h.sig.startsWith('#'));
  const counts = new Map<string, number>();
  for (const h of have) counts.set(h.sig, (counts.get(h.sig) ?? 0) + 1);
  let at = 0;
  for (const { sig, node } of signatures(checked.program)) {
    let lost = (counts.get(sig) ?? 0) <= 0;
    counts.set(sig, (counts.get(sig) ?? 0) - 1);
    if (!lost && sig.startsWith('#')) {
      const found = haveBlocks.findIndex((h, i) => i >= at && h.sig === sig);
      lost = found < 0;
      at = found + 1;
    }
    if (lost) {
      errors.push(
        where({
          line: node.loc.start.line,
          column: node.loc.start.column,
          path: sig.replace(/\/\d+$/, ''),
          message:
            'MJML dropped or moved this expression: put block helpers between components inside <mj-raw>…</mj-raw>',
        }),
      );
      break;
    }
  }

  // Every href value becomes {{#__link}}…{{/__link}}: links are decided while rendering, in the
  // HTML and in the text part derived from it, instead of by scanning each rendered message.
  const linked = html.replace(HREF, (m, pre: string, value: string, post: string) =>
    value.includes(`{{#${LINK_HELPER}}}`) ? m : `${pre}{{#${LINK_HELPER}}}${value}{{/${LINK_HELPER}}}${post}`,
  );
  htmlAst = Handlebars.parse(linked);
  const text = convert(linked, TEXT_OPTIONS).replace(/^[ \t]+|[ \t]+$/gm, '');
  let textAst: Program;
  try {
    textAst = Handlebars.parse(text);
  } catch (e) {
    errors.push(fileProblem(`the plain-text part is no valid Handlebars: ${(e as Error).message.split('\n').pop()}`));
    return { errors, warnings };
  }
  if (errors.length) return { errors, warnings };

  const separator = `\u0000${randomBytes(8).toString('hex')}\u0000`;
  const compiled: CompiledTemplate = {
    name,
    locale: x.locale,
    file: x.file,
    hash: createHash('sha256').update(x.source).digest('hex').slice(0, 16),
    render: hb.compile(
      combine(guardValues(htmlAst, guaranteed(htmlAst)), guardValues(textAst, guaranteed(textAst)), separator),
      { strict: true },
    ),
    separator,
    uses: usedKeys(checked.program),
    links,
    warnings,
  };
  return { compiled, errors, warnings };
}
