import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BYTES, tooLarge } from '../util/limits.js';
import { packageRoot } from '../util/package-root.js';

/** Where the page texts live inside a templates folder: `preferences/<lang>.yaml`. */
export const PREFERENCE_TEXTS_DIR = 'preferences';

type Texts = Record<string, string>;
const cache = new Map<string, { mtime: number; texts: Texts }>();

function readTexts(file: string): Texts {
  if (!existsSync(file)) return {};
  const st = statSync(file);
  const hit = cache.get(file);
  if (hit && hit.mtime === st.mtimeMs) return hit.texts;
  if (st.size > BYTES.templateFile)
    throw new Error(`${file}: ${tooLarge(st.size, BYTES.templateFile)} for a texts file`);
  const raw = (parse(readFileSync(file, 'utf8')) ?? {}) as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error(`${file}: expected a mapping of text keys to texts`);
  const texts = Object.fromEntries(Object.entries(raw).filter(([, v]) => typeof v === 'string')) as Texts;
  cache.set(file, { mtime: st.mtimeMs, texts });
  return texts;
}

/**
 * The preference page's texts for a language (`de` or `en`): the shop's file in its templates
 * folder over the file shipped with Comeback, key by key, so a shop changes only what it wants.
 */
export function preferenceTexts(templatesDir: string, lang: 'de' | 'en'): Texts {
  const root = packageRoot();
  const shipped = root ? readTexts(join(root, 'templates', PREFERENCE_TEXTS_DIR, `${lang}.yaml`)) : {};
  return { ...shipped, ...readTexts(join(templatesDir, PREFERENCE_TEXTS_DIR, `${lang}.yaml`)) };
}

/** A text with `{name}` placeholders filled (values are escaped by the caller's page). */
export function fill(text: string | undefined, values: Record<string, string | number>, fallback = ''): string {
  return (text ?? fallback).replace(/\{(\w+)\}/g, (m, k: string) => (k in values ? String(values[k]) : m));
}
