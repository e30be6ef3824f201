/**
 * Checks what sequences refer to outside their own file: templates exist in the templates folder
 * (with a "did you mean"), subjects and preheaders use only variables of the documented data
 * model, and (optionally) the referenced templates themselves pass the template check.
 */
import { relative } from 'node:path';
import type { Problem } from '../errors.js';
import { checkHeaderTemplate } from '../templates/check.js';
import type { TemplateStore } from '../templates/store.js';
import { closest } from '../util/did-you-mean.js';
import type { Locator, PathKey } from './positions.js';
import type { LocalizedText, MailAction, Sequence } from './schema.js';

/** Options of the reference check. */
export interface ReferenceOptions {
  /** Also run the full template check (MJML, footer, variables) on every referenced template. */
  checkTemplates?: boolean;
}

/** The parts of a mail action the reference check reads. */
export type MailRefs = Pick<MailAction, 'template' | 'subject' | 'preheader'>;

/**
 * Every mail action of a sequence with its path: steps, branch cases, `when` cases, defaults,
 * variants. It reads a valid sequence and, as far as it has the right shape, one that failed the
 * schema, so that its references are reported in the same run as its other problems.
 */
export function mailActions(seq: Sequence | unknown): { path: PathKey[]; action: MailRefs }[] {
  const out: { path: PathKey[]; action: MailRefs }[] = [];
  const add = (path: PathKey[], a: unknown) => {
    if (isRecord(a))
      out.push({
        path,
        action: { template: stringOr(a.template), subject: localized(a.subject), preheader: localized(a.preheader) },
      });
  };
  const steps = isRecord(seq) && Array.isArray(seq.steps) ? seq.steps : [];
  const each = (s: unknown, base: PathKey[]) => {
    if (!isRecord(s)) return;
    // A split step sends nothing itself; its cohorts' steps do.
    if (isRecord(s.split)) {
      const cohorts = Array.isArray(s.split.cohorts) ? s.split.cohorts : [];
      cohorts.forEach((c: unknown, j) => {
        if (isRecord(c) && Array.isArray(c.steps))
          c.steps.forEach((cs: unknown, k) => each(cs, [...base, 'split', 'cohorts', j, 'steps', k]));
      });
      return;
    }
    add(base, s);
    const branch = isRecord(s.branch) ? s.branch : {};
    if (isRecord(branch.cases))
      for (const [reason, a] of Object.entries(branch.cases)) add([...base, 'branch', 'cases', reason], a);
    if (Array.isArray(branch.when)) branch.when.forEach((w: unknown, j) => add([...base, 'branch', 'when', j], w));
    add([...base, 'branch', 'default'], branch.default);
    if (Array.isArray(s.variants)) s.variants.forEach((v: unknown, j) => add([...base, 'variants', j], v));
  };
  steps.forEach((s: unknown, i) => each(s, ['steps', i]));
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringOr(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function localized(v: unknown): LocalizedText | undefined {
  if (typeof v === 'string') return v;
  if (isRecord(v) && Object.values(v).every((t) => typeof t === 'string')) return v as Record<string, string>;
  return undefined;
}

function texts(value: LocalizedText | undefined, path: PathKey[]): { path: PathKey[]; text: string }[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return [{ path, text: value }];
  return Object.entries(value).map(([lang, text]) => ({ path: [...path, lang], text }));
}

/** What the reference check remembers across files of one run. */
export interface ReferenceRun {
  /** Templates found so far (the full check runs once per template at the end). */
  used: Set<string>;
  headers: Map<string, string[]>;
}

/** A fresh run. */
export function referenceRun(): ReferenceRun {
  return { used: new Set(), headers: new Map() };
}

/** Checks the template references and subject variables of one parsed sequence (or of one that failed the schema). */
export function checkFileReferences(
  seq: Sequence | unknown,
  at: Locator,
  store: TemplateStore,
  run: ReferenceRun,
): Problem[] {
  const problems: Problem[] = [];
  const dir = relative(process.cwd(), store.dir) || '.';
  for (const { path, action } of mailActions(seq)) {
    if (action.template !== undefined) {
      try {
        // One file-system lookup per template name and run, however many steps use it.
        if (!run.used.has(action.template)) store.locate(action.template, store.fallbackLocale);
        run.used.add(action.template);
      } catch {
        const hint = closest(
          action.template,
          store.list().map((t) => t.name),
        );
        problems.push(
          at.problem(
            [...path, 'template'],
            `template "${action.template}" not found in ${dir}/${hint ? ` (did you mean "${hint}"?)` : ''}`,
          ),
        );
      }
    }
    for (const key of ['subject', 'preheader'] as const) {
      for (const t of texts(action[key], [...path, key])) {
        let messages = run.headers.get(t.text);
        if (!messages) run.headers.set(t.text, (messages = checkHeaderTemplate(t.text)));
        for (const m of messages) problems.push(at.problem(t.path, m));
      }
    }
  }
  return problems;
}

/** The full template check (MJML, data model, footer) of every template a run used, in every locale it exists in. */
export async function checkUsedTemplates(store: TemplateStore, run: ReferenceRun): Promise<Problem[]> {
  const problems: Problem[] = [];
  const known = store.list();
  for (const name of [...run.used].sort()) {
    for (const locale of known.find((t) => t.name === name)?.locales ?? [store.fallbackLocale]) {
      problems.push(...(await store.check(name, locale)).errors);
    }
  }
  return problems;
}

/** Checks references of parsed sequences (with their locators), then optionally the templates used. */
export async function checkReferences(
  files: { sequence?: Sequence; locator?: Locator }[],
  store: TemplateStore,
  options: ReferenceOptions = {},
): Promise<Problem[]> {
  const run = referenceRun();
  const problems = files.flatMap((f) =>
    f.sequence && f.locator ? checkFileReferences(f.sequence, f.locator, store, run) : [],
  );
  if (options.checkTemplates) problems.push(...(await checkUsedTemplates(store, run)));
  return problems;
}
