import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { TemplateError } from '../errors.js';
import { BYTES, tooLarge } from '../util/limits.js';
import { DEFAULT_LINK_SETTINGS, type LinkSettings } from './links.js';

/** The file in the templates folder that configures link decoration (optional). */
export const SETTINGS_FILE = 'settings.yaml';

/**
 * `templates/settings.yaml`:
 * ```yaml
 * utm:                       # or `utm: false` to add none
 *   utm_source: comeback
 *   utm_medium: email
 *   utm_campaign: "{sequence}"
 *   utm_content: "{step}{variant}"
 * utm_hosts: [shop.example.com]   # default: the host of shop_url
 * ```
 */
export const TemplateSettings = z.strictObject({
  utm: z
    .union([z.literal(false), z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a query parameter name'), z.string())])
    .optional(),
  utm_hosts: z.array(z.string().min(1)).min(1).optional(),
});
export type TemplateSettings = z.infer<typeof TemplateSettings>;

/** Link settings from code options, then the settings file, then the defaults. */
export function loadLinkSettings(file: string, override: Partial<LinkSettings> = {}): LinkSettings {
  let fromFile: TemplateSettings = {};
  if (existsSync(file)) {
    let raw: unknown;
    const size = statSync(file).size;
    if (size > BYTES.templateFile)
      throw new TemplateError(`${file}: ${tooLarge(size, BYTES.templateFile)} for a settings file`);
    try {
      raw = parse(readFileSync(file, 'utf8')) ?? {};
    } catch (e) {
      throw new TemplateError(`${file}: ${(e as Error).message}`);
    }
    const r = TemplateSettings.safeParse(raw);
    if (!r.success)
      throw new TemplateError(
        `${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`).join('; ')}`,
      );
    fromFile = r.data;
  }
  const utm =
    override.utm !== undefined
      ? override.utm
      : fromFile.utm === false
        ? null
        : (fromFile.utm ?? DEFAULT_LINK_SETTINGS.utm);
  const utmHosts =
    override.utmHosts !== undefined ? override.utmHosts : (fromFile.utm_hosts?.map((h) => h.toLowerCase()) ?? null);
  return { utm, utmHosts };
}
