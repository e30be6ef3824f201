import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, visit, type YAMLError } from 'yaml';
import { ValidationError, type Problem } from '../errors.js';
import { closest } from '../util/did-you-mean.js';
import { BYTES, tooLarge } from '../util/limits.js';
import { issueProblems } from './issues.js';
import { Locator } from './positions.js';
import { Sequence } from './schema.js';
import { checkSemantics } from './semantics.js';

/** A validated sequence together with where it came from. */
export interface LoadedSequence {
  definition: Sequence;
  file: string;
  /** SHA-256 of the file content: a changed file with the same version is detected. */
  hash: string;
}

/** The outcome of parsing one file: the sequence when valid, and every problem found. */
export interface ParsedSequence {
  sequence?: Sequence;
  /** The file's data when it failed the schema: what the reference check can still read of it. */
  draft?: unknown;
  problems: Problem[];
  /** Positions of paths in this file, for checks that need other files (ids, on_success). */
  locator?: Locator;
}

function yamlMessage(e: YAMLError, text: string): string {
  switch (e.code) {
    case 'DUPLICATE_KEY': {
      const key = /^[^:\n]*/.exec(text.slice(e.pos[0]))?.[0]?.trim();
      return `duplicate key${key ? ` "${key}"` : ''}: each key may appear once in a mapping`;
    }
    case 'TAB_AS_INDENT':
      return 'tab used for indentation: indent with spaces';
    case 'MULTIPLE_DOCS':
      return 'more than one document (---) in the file: write one sequence per file';
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a value contains ": " or a key is indented differently from the keys beside it: check the indentation, or put the value in quotes';
    case 'MISSING_CHAR':
      if (/quote/.test(e.message)) return 'a quoted text is not closed: add the closing quote';
      return `YAML: ${e.message.split('\n')[0]!.toLowerCase()}`;
    default: {
      if (/scalar at node end/.test(e.message))
        return quoteHint(text, e.pos[0]) ?? 'text after the end of a value: put the whole value in quotes';
      const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return `YAML: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
    }
  }
}

/**
 * "Unexpected scalar at node end" right after a quote: a quote inside a quoted value closed it
 * early (`unless: "churn_reason == "price""`). Names the fix, written out for this value.
 */
function quoteHint(text: string, offset: number): string | undefined {
  const quote = text[offset - 1];
  if (quote !== '"' && quote !== "'") return undefined;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const line = text.slice(lineStart, text.indexOf('\n', offset) < 0 ? undefined : text.indexOf('\n', offset));
  const open = /^\s*(?:-\s+)?[^\s:#][^:#]*:\s+|^\s*-\s+/.exec(line)?.[0].length;
  const value =
    open === undefined
      ? undefined
      : line
          .slice(open)
          .replace(/\s+#.*$/, '')
          .trimEnd();
  if (!value || value[0] !== quote || !value.endsWith(quote) || value.length < 3) {
    return `a ${quote} inside a value quoted with ${quote} ends it early: ${quote === '"' ? 'write it as \\"' : "write it twice ('')"}`;
  }
  const inner = value.slice(1, -1);
  const fixed =
    quote === '"' && !inner.includes("'")
      ? `'${inner}'`
      : quote === '"'
        ? `"${inner.replace(/"/g, '\\"')}"`
        : `'${inner.replace(/'/g, "''")}'`;
  const why = quote === '"' ? 'a " inside "..." ends the value early' : "a ' inside '...' ends the value early";
  return `${why}: write the value as ${fixed}`;
}

/** Where to point for a YAML error: an unclosed quote at its opening quote, not at the end of the file. */
function errorOffset(e: YAMLError, text: string): number {
  if (e.code === 'MISSING_CHAR' && /quote/.test(e.message)) {
    const quote = /"/.test(e.message) ? '"' : "'";
    for (let i = Math.min(e.pos[0], text.length) - 1; i >= 0; i--) {
      if (text[i] === quote && /[:\-[{,]\s*$/.test(text.slice(Math.max(0, i - 4), i))) return i;
    }
  }
  return e.pos[0];
}

/** Parses and validates one sequence text. Every problem is collected, positions 1-based. */
export function parseSequence(text: string, file: string): ParsedSequence {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = new Locator(file, doc, lines, text);
  const problems: Problem[] = [];
  for (const e of doc.errors) {
    // One problem per line: a YAML mistake often makes the parser complain twice about it.
    const where = at.position(errorOffset(e, text));
    if (!problems.some((p) => p.line === where.line))
      problems.push({ file, ...where, path: '', message: yamlMessage(e, text) });
  }
  if (problems.length > 0) return { problems };
  if (doc.contents === null)
    return {
      problems: [
        {
          file,
          line: 1,
          column: 1,
          path: '',
          message: 'the file is empty: a sequence needs id, name, audience, consent and steps',
        },
      ],
    };
  if (!isMap(doc.contents)) {
    const what = isSeq(doc.contents) ? 'a list' : 'a single value';
    return {
      problems: [at.problem([], `a sequence is a mapping of keys (id, name, audience, consent, steps), got ${what}`)],
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Unresolved aliases and alias bombs: point at the first alias.
    const first = findAlias(doc);
    const text0 = (err as Error).message;
    const name = /Unresolved alias.*: (\S+)$/.exec(text0)?.[1];
    const message = /Excessive alias/.test(text0)
      ? 'too many aliases (*name): expanding them would take too much memory'
      : name
        ? `unknown alias "*${name}": define the anchor (&${name}) before using it`
        : `YAML: ${text0}`;
    return { problems: [{ file, ...at.position(first), path: '', message }] };
  }
  const result = Sequence.safeParse(raw, { reportInput: true });
  if (!result.success) for (const issue of result.error.issues) problems.push(...issueProblems(issue, at));
  for (const p of checkSemantics(raw))
    problems.push(at.problem(p.path, p.message, { atKey: p.atKey, offset: p.offset }));
  const parsed = finish(problems, result.success ? result.data : undefined, at);
  return parsed.sequence ? parsed : { ...parsed, draft: raw };
}

function findAlias(doc: ReturnType<typeof parseDocument>): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      offset ??= node.range?.[0];
    },
  });
  return offset;
}

function finish(found: Problem[], sequence: Sequence | undefined, locator: Locator): ParsedSequence {
  const seen = new Set<string>();
  const problems = found
    .filter((p) => {
      const key = `${p.line}:${p.column}:${p.path}:${p.message}`;
      return !seen.has(key) && seen.add(key);
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
  return problems.length > 0 ? { problems, locator } : { sequence, problems, locator };
}

/**
 * A parsed file for the checks across files. Only the positions those checks need are kept (not
 * the whole YAML document), so a folder of thousands of files stays small in memory.
 */
export interface FileResult {
  file: string;
  hash: string;
  sequence?: Sequence;
  problems: Problem[];
  /** Where the id and `on_success.start` are written, for problems found across files. */
  anchors: { id?: Problem; start?: Problem; topic?: Problem };
}

/** Reduces a parsed file to what the checks across files need. */
export function fileResult(parsed: ParsedSequence, file: string, hash: string): FileResult {
  const at = parsed.locator;
  const anchors =
    parsed.sequence && at
      ? {
          id: at.problem(['id'], ''),
          start: parsed.sequence.on_success?.start ? at.problem(['on_success', 'start'], '') : undefined,
          topic: parsed.sequence.topic ? at.problem(['topic'], '') : undefined,
        }
      : {};
  return { file, hash, sequence: parsed.sequence, problems: parsed.problems, anchors };
}

/**
 * Checks that need every file: ids are unique, and `on_success.start` names a trigger-based
 * sequence (otherwise the audience evaluation would start it for everyone, too). With `topics`
 * (the config's), each sequence's `topic` must be one of them.
 */
export function crossCheck(files: FileResult[], topics?: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  if (topics) problems.push(...topicProblems(files, topics));
  const byId = new Map<string, FileResult>();
  for (const f of files) {
    const id = f.sequence?.id;
    if (!id) continue;
    const other = byId.get(id);
    if (other) problems.push({ ...f.anchors.id!, message: `id "${id}" is also used by ${other.file}` });
    else byId.set(id, f);
  }
  for (const f of files) {
    const start = f.sequence?.on_success?.start;
    if (!start || start === f.sequence!.id) continue;
    const target = byId.get(start)?.sequence;
    if (!target) {
      const hint = closest(start, [...byId.keys()]);
      problems.push({
        ...f.anchors.start!,
        message: `no sequence with id "${start}"${hint ? ` (did you mean "${hint}"?)` : ' among the files validated'}`,
      });
    } else if (!target.audience.trigger) {
      problems.push({
        ...f.anchors.start!,
        message: `"${start}" is not trigger-based: give it audience.trigger so that only on_success starts it`,
      });
    }
  }
  return problems;
}

/** A sequence's `topic` that the config does not declare, at the position of the value. */
export function topicProblems(files: FileResult[], topics: readonly string[]): Problem[] {
  return files.flatMap((f) => {
    const topic = f.sequence?.topic;
    if (!topic || topics.includes(topic)) return [];
    const hint = closest(topic, topics);
    const known = topics.length ? `declared: ${topics.join(', ')}` : 'the config declares no topics';
    return [
      {
        ...f.anchors.topic!,
        message: `unknown topic "${topic}"${hint ? ` (did you mean "${hint}"?)` : ''}: add it to the config's topics (${known})`,
      },
    ];
  });
}

/** Throws ValidationError when a loaded sequence names a topic the config does not declare. */
export function assertTopics(loaded: readonly LoadedSequence[], topics: readonly string[]): void {
  const files = loaded.map((l) => {
    const at: Problem = { file: l.file, line: 1, column: 1, path: 'topic', message: '' };
    return { file: l.file, hash: l.hash, sequence: l.definition, problems: [], anchors: { topic: at } };
  });
  const problems = topicProblems(files, topics);
  if (problems.length > 0) throw new ValidationError(problems);
}

/** Every `*.yaml`/`*.yml` under the given files or folders (folders one level deep, sorted). */
export function collectFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

/**
 * Reads and parses one sequence file; a file over `BYTES.sequenceFile` is refused from its size
 * alone, without reading it.
 */
export function readSequenceFile(path: string, shown: string): { parsed: ParsedSequence; text: string } {
  const size = statSync(path).size;
  if (size > BYTES.sequenceFile) {
    return {
      text: '',
      parsed: {
        problems: [
          {
            file: shown,
            line: 1,
            column: 1,
            path: '',
            message: `the file is ${tooLarge(size, BYTES.sequenceFile)} for a sequence file`,
          },
        ],
      },
    };
  }
  const text = readFileSync(path, 'utf8');
  return { text, parsed: parseSequence(text, shown) };
}

/** Reads and parses files, with the checks across them. */
export function parseFiles(
  paths: string[],
  cwd = process.cwd(),
  topics?: readonly string[],
): { files: FileResult[]; problems: Problem[] } {
  const files: FileResult[] = [];
  const problems: Problem[] = [];
  for (const path of paths.flatMap((p) => collectFiles(p))) {
    const shown = relative(cwd, path) || path;
    const { parsed, text } = readSequenceFile(path, shown);
    problems.push(...parsed.problems);
    files.push(fileResult(parsed, shown, createHash('sha256').update(text).digest('hex')));
  }
  problems.push(...crossCheck(files, topics));
  return { files, problems };
}

/** Loads every sequence under the given files or folders; throws ValidationError listing all problems. */
export function loadSequences(paths: string[], cwd = process.cwd(), topics?: readonly string[]): LoadedSequence[] {
  const { files, problems } = parseFiles(paths, cwd, topics);
  if (problems.length > 0) throw new ValidationError(problems);
  return files.map((f) => ({ definition: f.sequence!, file: f.file, hash: f.hash }));
}
