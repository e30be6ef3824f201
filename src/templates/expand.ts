import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { TemplateError } from '../errors.js';
import { BYTES, tooLarge } from '../util/limits.js';

/** Where a line of the expanded source came from (for errors that name the marketer's file). */
export interface Origin {
  /** Path relative to the templates folder, e.g. `partials/footer.mjml`. */
  file: string;
  /** 1-based line in that file. */
  line: number;
  /** 0-based column in that file where this expanded line starts. */
  column: number;
}

/** A template after layout and partial expansion. */
export interface Expanded {
  /** The full MJML source. */
  source: string;
  /** Origin of each line of `source` (index 0 is line 1). */
  origins: Origin[];
  /** The locale of the body file found (after fallback). */
  locale: string;
  /** The body file, relative to the templates folder. */
  file: string;
  /** Every file read, absolute, with its modification time and size (for the cache check). */
  deps: { path: string; mtimeMs: number; size: number }[];
  /** Files that would have won had they existed (a more specific locale): their creation invalidates. */
  missing: string[];
}

const PARTIAL = /\{\{>\s*([a-z0-9][a-z0-9/_-]*)\s*\}\}/gi;
const LAYOUT = /^\s*<!--\s*layout:\s*([a-z0-9_-]+)\s*-->/;
const BODY_SLOT = '<!-- body -->';
const MAX_DEPTH = 5;

/**
 * Reads template files under one folder, and nothing else: every path is resolved against the
 * folder, `..` and absolute names are refused, and symbolic links are followed only when their
 * target lies inside the folder too.
 */
export class TemplateFiles {
  readonly dir: string;
  private readonly realDir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.realDir = existsSync(this.dir) ? realpathSync(this.dir) : this.dir;
  }

  /** The absolute path of a file inside the folder; TemplateError when the name leaves it. */
  path(relativePath: string): string {
    const full = resolve(this.dir, relativePath);
    if (!full.startsWith(this.dir + sep))
      throw new TemplateError(`template path "${relativePath}" leaves the templates folder`);
    return full;
  }

  /** Whether a file exists (inside the folder, after following links). */
  exists(full: string): boolean {
    if (!existsSync(full)) return false;
    const real = realpathSync(full);
    if (!real.startsWith(this.realDir + sep))
      throw new TemplateError(`template file ${relative(this.dir, full)} links outside the templates folder`);
    return true;
  }

  private read(full: string, deps: Expanded['deps']): string {
    const st = statSync(full);
    // Refused from its size alone: a runaway file is never read into memory.
    if (st.size > BYTES.templateFile)
      throw new TemplateError(
        `${relative(this.dir, full)}: ${tooLarge(st.size, BYTES.templateFile)} for a template file`,
      );
    deps.push({ path: full, mtimeMs: st.mtimeMs, size: st.size });
    return readFileSync(full, 'utf8');
  }

  /**
   * The file serving `name` in `locale`: `NAME.de-AT.mjml`, `NAME.de.mjml`, `NAME.<fallback>.mjml`,
   * then `NAME.mjml`. Undefined when none exists; `tried` lists the candidates in order.
   */
  locate(name: string, locale: string, fallback: string): { file?: string; locale: string; tried: string[] } {
    const base = locale.split('-')[0]!;
    const tried: string[] = [];
    for (const l of [...new Set([locale, base, fallback])]) {
      const f = this.path(`${name}.${l}.mjml`);
      tried.push(f);
      if (this.exists(f)) return { file: f, locale: l, tried };
    }
    const plain = this.path(`${name}.mjml`);
    tried.push(plain);
    return this.exists(plain) ? { file: plain, locale: fallback, tried } : { locale: fallback, tried };
  }

  /**
   * Expands a template: the body goes into `layouts/default.mjml` (or the layout named by a
   * first-line `<!-- layout: NAME -->`; a body that is a whole `<mjml>` document has none) at
   * `<!-- body -->`, and every `{{> NAME}}` becomes `partials/NAME.<locale>.mjml` or
   * `partials/NAME.mjml`. Each line keeps its origin so errors name the file the marketer edits.
   */
  expand(name: string, locale: string, fallback: string): Expanded {
    const found = this.locate(name, locale, fallback);
    if (!found.file)
      throw new TemplateError(
        `template "${name}" not found for locale ${locale}: expected ${relative(this.dir, found.tried[0]!)}`,
      );
    const deps: Expanded['deps'] = [];
    const missing = found.tried.slice(0, found.tried.indexOf(found.file));
    const file = relative(this.dir, found.file);
    const body = this.read(found.file, deps);
    let lines: Line[];
    if (/^\s*<mjml[\s>]/.test(body)) {
      lines = this.lines(body, file, found.locale, deps, missing, 0);
    } else {
      const layout = LAYOUT.exec(body)?.[1] ?? 'default';
      const layoutPath = this.path(`layouts/${layout}.mjml`);
      if (!this.exists(layoutPath))
        throw new TemplateError(`${file}: layout "${layout}" not found: expected layouts/${layout}.mjml`);
      const layoutLines = this.lines(
        this.read(layoutPath, deps),
        `layouts/${layout}.mjml`,
        found.locale,
        deps,
        missing,
        0,
      );
      const bodyLines = this.lines(body, file, found.locale, deps, missing, 0);
      lines = [];
      for (const l of layoutLines) {
        const at = l.text.indexOf(BODY_SLOT);
        if (at < 0) {
          lines.push(l);
          continue;
        }
        lines.push({ ...l, text: l.text.slice(0, at) }, ...bodyLines, {
          ...l,
          text: l.text.slice(at + BODY_SLOT.length),
          column: l.column + at + BODY_SLOT.length,
        });
      }
      if (!layoutLines.some((l) => l.text.includes(BODY_SLOT)))
        throw new TemplateError(`layouts/${layout}.mjml has no ${BODY_SLOT} slot`);
    }
    return {
      source: lines.map((l) => l.text).join('\n'),
      origins: lines.map(({ file: f, line, column }) => ({ file: f, line, column })),
      locale: found.locale,
      file,
      deps,
      missing,
    };
  }

  private lines(
    text: string,
    file: string,
    locale: string,
    deps: Expanded['deps'],
    missing: string[],
    depth: number,
  ): Line[] {
    if (depth > MAX_DEPTH)
      throw new TemplateError(`${file}: partials nest deeper than ${MAX_DEPTH} levels (a partial including itself?)`);
    const out: Line[] = [];
    text.split('\n').forEach((lineText, i) => {
      let last = 0;
      for (const m of lineText.matchAll(PARTIAL)) {
        const at = m.index!;
        if (at > last) out.push({ text: lineText.slice(last, at), file, line: i + 1, column: last });
        out.push(...this.partial(m[1]!, file, i + 1, locale, deps, missing, depth));
        last = at + m[0].length;
      }
      if (last === 0 || last < lineText.length)
        out.push({ text: lineText.slice(last), file, line: i + 1, column: last });
    });
    return out;
  }

  private partial(
    name: string,
    from: string,
    line: number,
    locale: string,
    deps: Expanded['deps'],
    missing: string[],
    depth: number,
  ): Line[] {
    const localized = this.path(`partials/${name}.${locale}.mjml`);
    const plain = this.path(`partials/${name}.mjml`);
    let f: string;
    if (this.exists(localized)) f = localized;
    else {
      missing.push(localized);
      if (!this.exists(plain))
        throw new TemplateError(`${from}:${line}: partial "${name}" not found: expected partials/${name}.mjml`);
      f = plain;
    }
    return this.lines(this.read(f, deps), relative(this.dir, f), locale, deps, missing, depth + 1);
  }
}

interface Line extends Origin {
  text: string;
}
