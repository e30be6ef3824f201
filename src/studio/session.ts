/**
 * What the studio does on the project, independent of HTTP: validate a text as `comeback
 * validate` would, draw its flow, apply edits from the graph, save, preview, send tests and
 * forecast. One per `comeback studio` process; the engine is the project's own (its database,
 * transport and templates).
 */
import type { Engine } from '../engine/engine.js';
import { renderPreview, type Preview } from '../engine/preview.js';
import { formatProblem, type Problem } from '../errors.js';
import { parseSequence } from '../sequences/loader.js';
import type { Sequence } from '../sequences/schema.js';
import { validatePaths } from '../sequences/validate.js';
import { TemplateStore } from '../templates/store.js';
import { hashEmail, normalizeEmail } from '../util/email.js';
import { BYTES, tooLarge } from '../util/limits.js';
import { buildFlow, type Flow } from './flow.js';
import { ProjectFiles, StudioError, textHash, type ProjectFile } from './files.js';
import { forecast, type Forecast } from './forecast.js';
import { sendTest, type TestSendRequest, type TestSendResult } from './test-send.js';

/** A problem with its `file:line:col path: message` line, as `comeback validate` prints it. */
export interface ShownProblem extends Problem {
  text: string;
}

/** The version rule, when it applies to a file: running enrolments keep the version they started on. */
export interface VersionNote {
  version: number;
  message: string;
}

/** The studio's work on one project folder. */
export class StudioSession {
  readonly files: ProjectFiles;
  private readonly store: TemplateStore;

  constructor(
    readonly engine: Engine,
    root: string,
  ) {
    const config = engine.ctx.config;
    this.files = new ProjectFiles(root, config.sequencesDir, config.templatesDir);
    this.store = new TemplateStore(this.files.templatesDir, config.defaults.locale, { checkIntervalMs: 0 });
  }

  /** Every problem of a sequence text, validated in its place among the other files. */
  async validate(path: string, text: string): Promise<ShownProblem[]> {
    const { abs, kind } = this.files.resolve(path);
    if (kind !== 'sequence') return [];
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > BYTES.sequenceFile) {
      const p = {
        file: this.files.shown(abs),
        line: 1,
        column: 1,
        path: '',
        message: `the file is ${tooLarge(bytes, BYTES.sequenceFile)} for a sequence file`,
      };
      return [{ ...p, text: formatProblem(p) }];
    }
    const { problems } = await validatePaths([abs], {
      cwd: this.files.root,
      templatesDir: this.files.templatesDir,
      fallbackLocale: this.engine.ctx.config.defaults.locale,
      store: this.store,
      texts: new Map([[abs, text]]),
    });
    return problems.map((p) => ({ ...p, text: formatProblem(p) }));
  }

  /** The flow of a sequence text, or null while it does not parse into a valid sequence. */
  flow(path: string, text: string): Flow | null {
    const parsed = parseSequence(text, this.files.shown(this.files.resolve(path).abs));
    return parsed.sequence && parsed.locator ? buildFlow(parsed.sequence, parsed.locator) : null;
  }

  /** The saved, valid definition of a sequence file (previews, test sends and forecasts use it). */
  definition(path: string, text?: string): Sequence {
    const file = this.files.read(path);
    if (file.kind !== 'sequence') throw new StudioError(400, `${path} is not a sequence file`);
    const parsed = parseSequence(text ?? file.text, file.path);
    if (!parsed.sequence)
      throw new StudioError(
        409,
        `${file.path} has problems: fix them first (${parsed.problems.slice(0, 3).map(formatProblem).join('; ')})`,
      );
    return parsed.sequence;
  }

  /** Saves a file; templates re-render from the next preview on (the compile cache is dropped). */
  async save(
    path: string,
    text: string,
    baseHash: string | null,
  ): Promise<{ file: ProjectFile; problems: ShownProblem[]; version: VersionNote | null }> {
    const file = this.files.write(path, text, baseHash);
    if (file.kind === 'template') {
      this.engine.ctx.templates.reload();
      this.store.reload();
      return { file, problems: [], version: null };
    }
    return {
      file,
      problems: await this.validate(file.path, file.text),
      version: await this.versionNote(file.text, file.path),
    };
  }

  /**
   * When the file's version is already stored with other content, the worker refuses the file
   * until the version is raised: said before the marketer finds out from the worker.
   */
  async versionNote(text: string, shown: string): Promise<VersionNote | null> {
    const seq = parseSequence(text, shown).sequence;
    if (!seq) return null;
    const stored = await this.engine.ctx.k
      .selectFrom('sequences')
      .select(['hash'])
      .where('id', '=', seq.id)
      .where('version', '=', seq.version)
      .executeTakeFirst();
    if (!stored || stored.hash === textHash(text)) return null;
    return {
      version: seq.version + 1,
      message:
        `version ${seq.version} of ${seq.id} is already in use with other content: raise it to ${seq.version + 1} ` +
        `before the worker loads this file. Customers enrolled on version ${seq.version} finish on it; ` +
        'new enrolments get the new version.',
    };
  }

  /** A step rendered by the production pipeline (the saved file's definition). */
  preview(
    path: string,
    step: string,
    options: { customer?: string; locale?: string; variant?: string },
  ): Promise<Preview> {
    const definition = this.definition(path);
    return renderPreview(this.engine, definition.id, step, { ...options, definition });
  }

  /** Sends the step to seed addresses (see `sendTest`). */
  sendTest(path: string, request: Omit<TestSendRequest, 'sequence' | 'definition'>): Promise<TestSendResult[]> {
    const definition = this.definition(path);
    return sendTest(this.engine, { ...request, sequence: definition.id, definition });
  }

  /** The 30-day forecast of the file's text (the editor's, when given and valid). */
  forecast(path: string, text?: string): Promise<Forecast> {
    return forecast(this.engine, this.definition(path, text));
  }

  /** Customers whose external id starts with the query, or whose address is the query. */
  async customers(
    query: string,
  ): Promise<
    { id: number; externalId: string; email: string | null; firstName: string | null; locale: string | null }[]
  > {
    const q = query.trim().slice(0, 254);
    if (!q) return [];
    const k = this.engine.ctx.k;
    let select = k.selectFrom('customers').select(['id', 'external_id', 'email', 'first_name', 'locale']);
    select = q.includes('@')
      ? select.where('email_hash', '=', hashEmail(normalizeEmail(q)))
      : select.where('external_id', 'like', `${q.replace(/[%_\\]/g, '')}%`);
    const rows = await select.orderBy('external_id').limit(10).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      externalId: r.external_id,
      email: r.email,
      firstName: r.first_name,
      locale: r.locale,
    }));
  }
}
