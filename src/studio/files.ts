/**
 * The project files the studio may read and write: sequence files under the sequences folder and
 * template files under the templates folder, nothing else. A write names the hash of the text it
 * was edited from, and is refused when the file changed on disk since (the editor reloads instead).
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ComebackError } from '../errors.js';
import { BYTES, tooLarge } from '../util/limits.js';

/** A request the studio refuses: the status code says why (400, 403, 404, 409, 413). */
export class StudioError extends ComebackError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('E_STUDIO', message);
  }
}

/** The kind of a project file, which decides its folder, its extensions and its size limit. */
export type FileKind = 'sequence' | 'template';

/** One file as the editor gets it. */
export interface ProjectFile {
  /** Path relative to the project folder, with `/` (`sequences/winback-lapsed.yaml`). */
  path: string;
  kind: FileKind;
  text: string;
  /** SHA-256 of the text: a save names it, so an edit of a stale copy is refused. */
  hash: string;
}

const EXTENSIONS: Record<FileKind, RegExp> = { sequence: /\.ya?ml$/, template: /\.(mjml|hbs|txt|ya?ml)$/ };
const LIMIT: Record<FileKind, number> = { sequence: BYTES.sequenceFile, template: BYTES.templateFile };

/** SHA-256 of a text, hex. */
export function textHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The sequences and templates folders of one project, and the only way the studio touches files. */
export class ProjectFiles {
  readonly root: string;
  readonly sequencesDir: string;
  readonly templatesDir: string;

  constructor(root: string, sequencesDir: string, templatesDir: string) {
    this.root = resolve(root);
    this.sequencesDir = resolve(this.root, sequencesDir);
    this.templatesDir = resolve(this.root, templatesDir);
  }

  /** Every sequence file (the folder, one level) and template file (the folder, recursively). */
  list(): { path: string; kind: FileKind }[] {
    const out: { path: string; kind: FileKind }[] = [];
    if (existsSync(this.sequencesDir)) {
      for (const f of readdirSync(this.sequencesDir).sort())
        if (EXTENSIONS.sequence.test(f)) out.push({ path: this.shown(join(this.sequencesDir, f)), kind: 'sequence' });
    }
    const walk = (dir: string, depth: number): void => {
      for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        const full = join(dir, e.name);
        if (e.isDirectory() && depth < 4) walk(full, depth + 1);
        else if (e.isFile() && EXTENSIONS.template.test(e.name)) out.push({ path: this.shown(full), kind: 'template' });
      }
    };
    if (existsSync(this.templatesDir)) walk(this.templatesDir, 0);
    return out;
  }

  /**
   * The absolute path of a project-relative path, or a StudioError: outside both folders (`..`,
   * an absolute path, a symbolic link that leads out), or an extension the folder does not hold.
   */
  resolve(path: string): { abs: string; kind: FileKind } {
    if (typeof path !== 'string' || path.length === 0 || path.length > 1000 || path.includes('\0'))
      throw new StudioError(400, 'give the path of a file under the sequences or templates folder');
    const abs = resolve(this.root, path);
    const kind: FileKind | undefined =
      inside(abs, this.sequencesDir) && dirname(abs) === this.sequencesDir
        ? 'sequence'
        : inside(abs, this.templatesDir)
          ? 'template'
          : undefined;
    if (!kind)
      throw new StudioError(
        403,
        `${path}: the studio only reads and writes files in ${this.shown(this.sequencesDir)}/ and ${this.shown(this.templatesDir)}/`,
      );
    if (!EXTENSIONS[kind].test(abs))
      throw new StudioError(
        403,
        `${path}: not a ${kind} file (${kind === 'sequence' ? '.yaml or .yml' : '.mjml, .hbs, .txt or .yaml'})`,
      );
    // A link inside the folder that points out of it is refused like `..`.
    const base = kind === 'sequence' ? this.sequencesDir : this.templatesDir;
    const real = existsSync(abs)
      ? realpathSync(abs)
      : join(realpathSync(existingParent(abs)), relative(existingParent(abs), abs));
    if (!inside(real, realpathSync(base))) throw new StudioError(403, `${path}: leads outside ${this.shown(base)}/`);
    return { abs, kind };
  }

  /** Reads a file (refused over its size limit, from its size alone). */
  read(path: string): ProjectFile {
    const { abs, kind } = this.resolve(path);
    if (!existsSync(abs) || !statSync(abs).isFile()) throw new StudioError(404, `${path}: no such file`);
    const size = statSync(abs).size;
    if (size > LIMIT[kind])
      throw new StudioError(413, `${path}: the file is ${tooLarge(size, LIMIT[kind])} for a ${kind} file`);
    const text = readFileSync(abs, 'utf8');
    return { path: this.shown(abs), kind, text, hash: textHash(text) };
  }

  /**
   * Writes the text as given (byte for byte) when the file on disk still has `baseHash` (or does
   * not exist and `baseHash` is null). Written to a temporary file and renamed, so a reader never
   * sees half a file.
   */
  write(path: string, text: string, baseHash: string | null): ProjectFile {
    const { abs, kind } = this.resolve(path);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > LIMIT[kind])
      throw new StudioError(
        413,
        `${path}: the text is ${tooLarge(bytes, LIMIT[kind])} for a ${kind} file; nothing was saved`,
      );
    const current = existsSync(abs) ? textHash(readFileSync(abs, 'utf8')) : null;
    if (current !== baseHash) {
      throw new StudioError(
        409,
        `${path} changed on disk since it was loaded: reload it (your edit is kept in the editor until you do); nothing was saved`,
      );
    }
    if (existsSync(abs) && lstatSync(abs).isSymbolicLink())
      throw new StudioError(403, `${path}: a symbolic link; edit the file it points to`);
    const tmp = `${abs}.studio-${process.pid}.tmp`;
    writeFileSync(tmp, text, 'utf8');
    renameSync(tmp, abs);
    return { path: this.shown(abs), kind, text, hash: textHash(text) };
  }

  /** A path relative to the project folder with `/`. */
  shown(abs: string): string {
    return relative(this.root, abs).split(sep).join('/');
  }
}

function inside(path: string, folder: string): boolean {
  return path.startsWith(folder + sep);
}

function existingParent(path: string): string {
  let p = dirname(path);
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}
