import { resolve } from 'node:path';
import { TemplateStore, type TemplateCheck } from './store.js';

export { TemplateStore, type TemplateStoreOptions, type TemplateCheck } from './store.js';
export { compileExpanded, missingMarkers, guardValues, type CompiledTemplate, type CompileResult } from './compile.js';
export { renderBody, renderHeaderText, type RenderedBody } from './render.js';
export {
  rewriteLinks,
  withUtm,
  utmFor,
  assertSafeLink,
  DEFAULT_LINK_SETTINGS,
  type LinkRewriter,
  type LinkSettings,
} from './links.js';
export { createHandlebars, HELPERS, sinceText, agoText, durationUnit } from './helpers.js';
export { checkHeaderTemplate, checkHandlebars } from './check.js';
export {
  DATA_MODEL,
  PRODUCT_FIELDS,
  LABEL_KEYS,
  REQUIRED_MARKERS,
  describeDataModel,
  type Field,
  type FieldType,
} from './model.js';
export {
  salutation,
  cleanName,
  noticesFor,
  labelsFor,
  reasonLabelsFor,
  NOTICES,
  LABELS,
  REASON_LABELS,
  type SalutationStyle,
} from './notices.js';
export { TemplateSettings, SETTINGS_FILE } from './settings.js';
export { TemplateFiles, type Expanded, type Origin } from './expand.js';
export {
  shopData,
  invalidateShopData,
  recommend,
  SHOP_DATA_TTL_MS,
  type ShopData,
  type ShopProduct,
  type Recommendation,
} from './shop-data.js';
export { sampleData, placeholderImage, type SampleOptions } from './sample.js';
export { MailRenderer, SCREENSHOT_WIDTHS, chromiumPath, type Shot } from './screenshot.js';

const stores = new Map<string, TemplateStore>();
function storeFor(dir: string, fallbackLocale: string): TemplateStore {
  const key = `${resolve(dir)}\u0000${fallbackLocale}`;
  let s = stores.get(key);
  if (!s) stores.set(key, (s = new TemplateStore(dir, fallbackLocale, { checkIntervalMs: 0 })));
  return s;
}

/**
 * Checks one template in one locale, as `comeback validate` does: expands layout and partials,
 * resolves every variable against DATA_MODEL, compiles the MJML, and verifies the legally required
 * footer parts. Each error names file, line, column and the expression, e.g.
 * `templates/winback/offer.de.mjml:7:12 {{cupon.code}}: unknown variable "cupon.code"; did you mean "coupon"?`.
 */
export async function checkTemplate(
  name: string,
  locale: string,
  options: { dir?: string; fallbackLocale?: string } = {},
): Promise<TemplateCheck> {
  return storeFor(options.dir ?? 'templates', options.fallbackLocale ?? 'en').check(name, locale);
}

/** Checks every template of a folder in every locale it is written in. */
export async function checkTemplates(
  options: { dir?: string; fallbackLocale?: string } = {},
): Promise<TemplateCheck[]> {
  return storeFor(options.dir ?? 'templates', options.fallbackLocale ?? 'en').checkAll();
}
