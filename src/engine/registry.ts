import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { LoadedSequence } from '../sequences/loader.js';
import { Sequence } from '../sequences/schema.js';
import { closest } from '../util/did-you-mean.js';

/**
 * The sequences the engine knows: the current file versions, and every version stored in the
 * database, because in-flight enrolments finish on the version they started with.
 */
export class SequenceRegistry {
  private readonly current = new Map<string, LoadedSequence>();
  private readonly versions = new Map<string, Sequence>();

  /** `folder` is where the sequences were loaded from, for the error when none are. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly folder?: string,
  ) {}

  /**
   * Registers loaded files and stores new versions. A file whose content changed while its
   * version number did not is refused: enrolled customers would silently get a different sequence.
   */
  async sync(loaded: LoadedSequence[], now: number): Promise<void> {
    for (const s of loaded) {
      const { id, version } = s.definition;
      const stored = await this.db
        .selectFrom('sequences')
        .select(['hash'])
        .where('id', '=', id)
        .where('version', '=', version)
        .executeTakeFirst();
      if (stored && stored.hash !== s.hash) {
        throw new ValidationError([
          {
            file: s.file,
            line: 1,
            column: 1,
            path: 'version',
            message: `the content changed but version is still ${version}: raise version to ${version + 1} so running enrolments keep their version`,
          },
        ]);
      }
      if (!stored) {
        await this.db
          .insertInto('sequences')
          .values({
            id,
            version,
            hash: s.hash,
            definition: JSON.stringify(s.definition),
            status: 'active',
            paused_reason: null,
            loaded_at: now,
          })
          .execute();
      }
      this.current.set(id, s);
      this.versions.set(`${id}@${version}`, s.definition);
    }
    // Every stored version up front: the scheduler asks for them inside its transaction, where a
    // second query on SQLite's single connection would wait for that transaction forever.
    for (const row of await this.db.selectFrom('sequences').select(['id', 'version', 'definition']).execute()) {
      const key = `${row.id}@${row.version}`;
      if (this.versions.has(key)) continue;
      const parsed = Sequence.safeParse(JSON.parse(row.definition));
      if (parsed.success) this.versions.set(key, parsed.data);
    }
  }

  /** Ids of the current sequences. */
  ids(): string[] {
    return [...this.current.keys()];
  }

  /** The current definition of a sequence; NotFoundError with a "did you mean" otherwise. */
  get(id: string): Sequence {
    const s = this.current.get(id);
    if (!s) {
      const hint = closest(id, this.ids());
      const none = this.folder
        ? `none: nothing was loaded from ${this.folder} (run the command in the project folder, or set sequencesDir)`
        : 'none';
      throw new NotFoundError(
        'sequence',
        id,
        hint ? `Did you mean "${hint}"?` : `Known sequences: ${this.ids().join(', ') || none}`,
      );
    }
    return s.definition;
  }

  /**
   * A specific version (loaded from the database when not among the current files). Inside a
   * transaction pass it as `db`: SQLite's one connection is the transaction's until it ends.
   */
  async version(id: string, version: number, db: Kysely<Database> = this.db): Promise<Sequence> {
    const key = `${id}@${version}`;
    let def = this.versions.get(key);
    if (!def) {
      const row = await db
        .selectFrom('sequences')
        .select('definition')
        .where('id', '=', id)
        .where('version', '=', version)
        .executeTakeFirst();
      if (!row) throw new NotFoundError('sequence version', key);
      def = Sequence.parse(JSON.parse(row.definition));
      this.versions.set(key, def);
    }
    return def;
  }

  /** Paused sequences neither enrol nor send; the reason is shown in stats. */
  async status(id: string): Promise<{ status: string; reason: string | null }> {
    const row = await this.db
      .selectFrom('sequences')
      .select(['status', 'paused_reason'])
      .where('id', '=', id)
      .orderBy('version', 'desc')
      .executeTakeFirst();
    return { status: row?.status ?? 'active', reason: row?.paused_reason ?? null };
  }
}
