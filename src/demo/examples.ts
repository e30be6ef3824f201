import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../util/package-root.js';

/**
 * Where the demo takes its sequences and templates from: the given folders; else `sequences/`
 * and `templates/` of the current folder when they exist (a project of one's own); else the
 * examples shipped with the package, so that `comeback demo` works from any folder.
 */
export function demoSources(
  given: { sequencesDir?: string; templatesDir?: string },
  cwd = process.cwd(),
): { sequencesDir: string; templatesDir: string } {
  const root = packageRoot();
  const pick = (explicit: string | undefined, name: string) => {
    if (explicit) return resolve(cwd, explicit);
    const local = resolve(cwd, name);
    return existsSync(local) || !root ? local : join(root, name);
  };
  return { sequencesDir: pick(given.sequencesDir, 'sequences'), templatesDir: pick(given.templatesDir, 'templates') };
}
