/**
 * The sequences the studio's engine knows (for the live figures): every valid file is registered
 * on its own, so one file with problems, or a changed file whose version was not raised, does not
 * keep the others (or the studio) from loading. What was left out is said, with the reason.
 */
import { existsSync } from 'node:fs';
import type { Engine } from '../engine/engine.js';
import { formatProblem, ValidationError } from '../errors.js';
import { parseFiles } from '../sequences/loader.js';

/** Registers the valid sequence files; returns one note per file left out. */
export async function loadSequenceFilesLeniently(engine: Engine): Promise<string[]> {
  const dir = engine.ctx.config.sequencesDir;
  if (!existsSync(dir)) return [];
  const { files } = parseFiles([dir]);
  const notes: string[] = [];
  for (const f of files) {
    if (!f.sequence) {
      notes.push(`${f.file}: ${f.problems.length} problem(s); open it in the studio to fix them`);
      continue;
    }
    try {
      await engine.ctx.sequences.sync([{ definition: f.sequence, file: f.file, hash: f.hash }], engine.ctx.clock.now());
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      notes.push(err.problems.map(formatProblem).join('; '));
    }
  }
  return notes;
}
