import type { EngineContext } from '../engine/context.js';

/** Every `template` named anywhere in a sequence (steps, variants, branch cases). */
function templateNames(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) templateNames(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'template' && typeof v === 'string') out.add(v);
      else templateNames(v, out);
    }
  }
  return out;
}

/**
 * Compiles every template the loaded sequences use, in every language it exists in, before the
 * worker starts sending: compiling (MJML, text part, checks) takes 30–40 ms per template and
 * language, which would otherwise hold up the first sends of each. A template that fails is
 * only logged here; sending it fails the message as before.
 */
export async function warmTemplates(ctx: EngineContext): Promise<number> {
  const names = new Set<string>();
  for (const id of ctx.sequences.ids()) templateNames(ctx.sequences.get(id), names);
  const locales = new Map(ctx.templates.list().map((t) => [t.name, t.locales]));
  let compiled = 0;
  for (const name of names) {
    for (const locale of locales.get(name) ?? []) {
      try {
        await ctx.templates.get(name, locale);
        compiled++;
      } catch (err) {
        ctx.log.warn(
          { template: name, locale, err: (err as Error).message },
          'template does not compile: when a mail of it is due, its sequence pauses itself until it is fixed and resumed',
        );
      }
    }
  }
  return compiled;
}
