import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type Handlebars from 'handlebars';
import { TemplateError, TemplateUnusableError, formatProblem, type Problem } from '../errors.js';
import { compileExpanded, type CompileResult, type CompiledTemplate } from './compile.js';
import { TemplateFiles, type Expanded } from './expand.js';
import { createHandlebars } from './helpers.js';
import type { LinkSettings } from './links.js';
import { SETTINGS_FILE, loadLinkSettings } from './settings.js';

/** Options of a template store. */
export interface TemplateStoreOptions {
  /** Link decoration; overrides `settings.yaml` in the folder. */
  links?: Partial<LinkSettings>;
  /**
   * How often (ms) `get` looks at the files again to notice edits (default 2000; 0 = every call).
   * Between checks, `get` is a map lookup. `reload()` forgets everything at once.
   */
  checkIntervalMs?: number;
}

/** The result of checking one template in one locale (what `comeback validate` reports). */
export interface TemplateCheck {
  name: string;
  locale: string;
  /** The body file that serves it, relative to the templates folder (absent when none exists). */
  file?: string;
  /** Problems that keep it from being sent: unknown variables, missing footer parts, MJML errors. */
  errors: Problem[];
  /** Findings that do not stop sending (a value that may be null printed without a guard). */
  warnings: Problem[];
}

interface Entry {
  result: Promise<CompileResult>;
  deps: Expanded['deps'];
  missing: string[];
  checkedAt: number;
}

/**
 * Finds, expands, checks and compiles templates under one folder. `winback/miss-you` in locale
 * `de-AT` is `winback/miss-you.de-AT.mjml`, else `.de.mjml`, else the fallback locale, else
 * `winback/miss-you.mjml`. A body is wrapped in `layouts/default.mjml` (or the layout named by a
 * first-line `<!-- layout: NAME -->`); `{{> NAME}}` includes `partials/NAME.mjml`. Nothing outside
 * the folder is read. Compiled once per content version; `get` is a map lookup per recipient.
 */
export class TemplateStore {
  readonly dir: string;
  readonly hb: typeof Handlebars;
  private readonly files: TemplateFiles;
  private readonly entries = new Map<string, Entry>();
  private readonly versions = new Map<string, Promise<CompileResult>>();
  private readonly interval: number;
  private readonly label: string;

  constructor(
    dir: string,
    readonly fallbackLocale = 'en',
    private readonly options: TemplateStoreOptions = {},
  ) {
    this.files = new TemplateFiles(dir);
    this.dir = this.files.dir;
    this.hb = createHandlebars();
    this.interval = options.checkIntervalMs ?? 2000;
    this.label = relative(process.cwd(), this.dir) || '.';
  }

  /** The file that serves a template in a locale, and the locale it is in. */
  locate(name: string, locale: string): { file: string; locale: string } {
    const found = this.files.locate(name, locale, this.fallbackLocale);
    if (!found.file)
      throw new TemplateError(`template "${name}" not found: expected ${relative(process.cwd(), found.tried[0]!)}`);
    return { file: found.file, locale: found.locale };
  }

  /** The full MJML source after layout and partial expansion, with the origin of every line. */
  expand(name: string, locale: string): Expanded {
    return this.files.expand(name, locale, this.fallbackLocale);
  }

  private load(name: string, locale: string): Entry {
    const x = this.expand(name, locale);
    const settingsFile = join(this.dir, SETTINGS_FILE);
    const links = loadLinkSettings(settingsFile, this.options.links);
    const deps = [...x.deps];
    const missing = [...x.missing];
    if (existsSync(settingsFile)) {
      const st = statSync(settingsFile);
      deps.push({ path: settingsFile, mtimeMs: st.mtimeMs, size: st.size });
    } else missing.push(settingsFile);
    const version = `${name}\u0000${x.locale}\u0000${JSON.stringify(links)}\u0000${x.source}`;
    let result = this.versions.get(version);
    if (!result) {
      if (this.versions.size > 1000) this.versions.clear();
      result = compileExpanded(this.hb, name, x, this.label, links);
      this.versions.set(version, result);
      result.catch(() => this.versions.delete(version));
    }
    return { result, deps, missing, checkedAt: performance.now() };
  }

  private fresh(e: Entry): boolean {
    for (const d of e.deps) {
      if (!existsSync(d.path)) return false;
      const st = statSync(d.path);
      if (st.mtimeMs !== d.mtimeMs || st.size !== d.size) return false;
    }
    return !e.missing.some((m) => existsSync(m));
  }

  private entry(name: string, locale: string): Entry {
    const key = `${name}\u0000${locale}`;
    let e = this.entries.get(key);
    if (e) {
      const now = performance.now();
      if (now - e.checkedAt >= this.interval) {
        if (this.fresh(e)) e.checkedAt = now;
        else e = undefined;
      }
    }
    if (!e) {
      e = this.load(name, locale);
      this.entries.set(key, e);
    }
    return e;
  }

  /**
   * The compiled template, ready to render. A template with errors (unknown variable, missing
   * footer parts, MJML errors) is refused with a TemplateError listing every problem.
   */
  async get(name: string, locale: string): Promise<CompiledTemplate> {
    let r: CompileResult;
    try {
      r = await this.entry(name, locale).result;
    } catch (err) {
      // A missing file, layout, partial or a broken settings file: no recipient could get this mail.
      if (err instanceof TemplateError) throw new TemplateUnusableError(err.message);
      throw err;
    }
    if (!r.compiled)
      throw new TemplateUnusableError(
        `template ${name} (${locale}) cannot be sent:\n${r.errors.map(formatProblem).join('\n')}`,
      );
    return r.compiled;
  }

  /** Checks a template in a locale without throwing: every error and warning with file and line. */
  async check(name: string, locale: string): Promise<TemplateCheck> {
    let r: CompileResult;
    let file: string | undefined;
    try {
      const e = this.entry(name, locale);
      r = await e.result;
      file = r.compiled?.file ?? relative(this.dir, this.locate(name, locale).file);
    } catch (err) {
      const message = (err as Error).message;
      return {
        name,
        locale,
        errors: [{ file: `${this.label}/${name}.${locale}.mjml`, line: 1, column: 1, path: '', message }],
        warnings: [],
      };
    }
    return { name, locale, file, errors: r.errors, warnings: r.warnings };
  }

  /** Every template (name and locales) in the folder, layouts, partials and settings excluded. */
  list(): { name: string; locales: string[] }[] {
    const out = new Map<string, Set<string>>();
    const visit = (sub: string) => {
      for (const d of readdirSync(join(this.dir, sub), { withFileTypes: true })) {
        const rel = sub ? `${sub}/${d.name}` : d.name;
        if (d.isDirectory()) {
          if (!sub && (d.name === 'layouts' || d.name === 'partials')) continue;
          visit(rel);
        } else if (d.name.endsWith('.mjml')) {
          const m = /^(.*?)(?:\.([a-z]{2}(?:-[A-Za-z0-9]+)*))?\.mjml$/.exec(rel)!;
          const locales = out.get(m[1]!) ?? new Set<string>();
          locales.add(m[2] ?? this.fallbackLocale);
          out.set(m[1]!, locales);
        }
      }
    };
    if (existsSync(this.dir)) visit('');
    return [...out]
      .map(([name, locales]) => ({ name, locales: [...locales].sort() }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Checks every template of the folder in every locale it is written in. */
  async checkAll(): Promise<TemplateCheck[]> {
    const out: TemplateCheck[] = [];
    for (const t of this.list()) for (const l of t.locales) out.push(await this.check(t.name, l));
    return out;
  }

  /** Forgets every compiled template (the next `get` reads and compiles the files again). */
  reload(): void {
    this.entries.clear();
    this.versions.clear();
  }
}
