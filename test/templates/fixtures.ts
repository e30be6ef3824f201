import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The example templates shipped with Comeback. */
export const TEMPLATES_DIR = join(import.meta.dirname, '../../templates');

/** The example templates every check must pass, by name. */
export const EXAMPLES = ['miss-you', 'reason-survey', 'offer', 'apology', 'new-arrivals', 'welcome-back'].map(
  (n) => `winback/${n}`,
);
/** The example templates that follow a cancelled subscription (checked, not screenshotted). */
export const SUBSCRIPTION_EXAMPLES = ['subscription/ask-why', 'subscription/come-back'];

/**
 * A temporary templates folder with the shipped layouts and partials, plus the given files
 * (path relative to the folder → content).
 */
export function templatesDir(files: Record<string, string> = {}, options: { copyShipped?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-templates-'));
  if (options.copyShipped !== false) {
    cpSync(join(TEMPLATES_DIR, 'layouts'), join(dir, 'layouts'), { recursive: true });
    cpSync(join(TEMPLATES_DIR, 'partials'), join(dir, 'partials'), { recursive: true });
  }
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** A minimal body section around some MJML text. */
export const section = (text: string) =>
  `<mj-section>\n  <mj-column>\n    <mj-text>${text}</mj-text>\n  </mj-column>\n</mj-section>\n`;
