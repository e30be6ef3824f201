import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's own folder (where the shipped `sequences/` and `templates/` live): the nearest
 * one above this module whose package.json is Comeback's; undefined when it cannot be found.
 */
export function packageRoot(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'comeback')
      return dir;
    if (dirname(dir) === dir) return undefined;
  }
}
