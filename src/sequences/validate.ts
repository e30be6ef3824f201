/**
 * `comeback validate` as a function: every problem of every file in one run — YAML syntax,
 * schema, rules across keys, ids and `on_success` across files, template references and the
 * variables of subjects — each as `file:line:col path: message`.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { Problem } from '../errors.js';
import { TemplateStore } from '../templates/store.js';
import { collectFiles, crossCheck, fileResult, parseSequence, readSequenceFile, type FileResult } from './loader.js';
import { checkFileReferences, checkUsedTemplates, referenceRun } from './references.js';

/** Options of a validation run. */
export interface ValidateOptions {
  /** The templates folder references are checked against; `false` skips the reference check. */
  templatesDir?: string | false;
  fallbackLocale?: string;
  /** Also run the full template check on every referenced template (default true). */
  checkTemplates?: boolean;
  cwd?: string;
  /** A template store to reuse across runs (its compile cache makes repeated runs cheap). */
  store?: TemplateStore;
  /** The config's topics: each sequence's `topic` must be one of them (unchecked when absent). */
  topics?: readonly string[];
  /** Unsaved texts by absolute path, checked instead of the files on disk (the studio's editor). */
  texts?: ReadonlyMap<string, string>;
}

/** The outcome of a validation run. */
export interface ValidateResult {
  problems: Problem[];
  files: FileResult[];
}

/**
 * Validates sequence files and folders. A file given on its own is checked together with the
 * other sequences of its folder (for ids and `on_success.start`), but only its problems are reported.
 */
export async function validatePaths(paths: string[], options: ValidateOptions = {}): Promise<ValidateResult> {
  const cwd = options.cwd ?? process.cwd();
  const problems: Problem[] = [];
  const targets: string[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    if (!existsSync(abs)) {
      problems.push({
        file: p,
        line: 1,
        column: 1,
        path: '',
        message: `no such file or folder in ${cwd} (run it in the project folder, name the sequence files, or start a project with \`comeback init\`)`,
      });
      continue;
    }
    targets.push(...collectFiles(abs));
  }
  const unique = [...new Set(targets)];
  const context = [
    ...new Set(
      unique.filter((f) => !paths.some((p) => resolve(cwd, p) === dirname(f))).flatMap((f) => collectFiles(dirname(f))),
    ),
  ].filter((f) => !unique.includes(f));
  let store: TemplateStore | undefined;
  let templatesDir: string | undefined;
  if (options.templatesDir !== false) {
    templatesDir = resolve(cwd, options.templatesDir ?? 'templates');
    if (existsSync(templatesDir))
      store = options.store ?? new TemplateStore(templatesDir, options.fallbackLocale ?? 'en', { checkIntervalMs: 0 });
  }
  const run = referenceRun();
  // Each file is checked completely while its YAML document is at hand, then reduced to what the
  // checks across files need.
  const read = (file: string, report: boolean): FileResult => {
    const shown = relative(cwd, file) || file;
    const unsaved = options.texts?.get(file);
    const { parsed, text } =
      unsaved !== undefined ? { text: unsaved, parsed: parseSequence(unsaved, shown) } : readSequenceFile(file, shown);
    if (report) {
      problems.push(...parsed.problems);
      const data = parsed.sequence ?? parsed.draft;
      if (store && data !== undefined && parsed.locator)
        problems.push(...checkFileReferences(data, parsed.locator, store, run));
    }
    return fileResult(parsed, shown, createHash('sha256').update(text).digest('hex'));
  };
  const files = unique.filter((f) => statSync(f).isFile()).map((f) => read(f, true));
  const shownTargets = new Set(files.map((f) => f.file));
  problems.push(
    ...crossCheck([...files, ...context.map((f) => read(f, false))], options.topics).filter((p) =>
      shownTargets.has(p.file),
    ),
  );
  if (store && (options.checkTemplates ?? true)) problems.push(...(await checkUsedTemplates(store, run)));
  if (templatesDir && !store && files.some((f) => f.sequence)) {
    problems.push({
      file: relative(cwd, templatesDir) || templatesDir,
      line: 1,
      column: 1,
      path: '',
      message: 'templates folder not found: give --templates DIR, or --no-templates to skip the reference check',
    });
  }
  return { problems: inFileOrder(dedupe(problems)), files };
}

/** File by file, each from top to bottom, whichever check found the problem. */
function inFileOrder(problems: Problem[]): Problem[] {
  return problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column));
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.file}:${p.line}:${p.column}:${p.path}:${p.message}`;
    return !seen.has(key) && seen.add(key);
  });
}
