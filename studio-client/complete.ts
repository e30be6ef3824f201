/**
 * Completion from the sequence JSON Schema (`comeback schema`): the keys a mapping accepts at the
 * cursor, with their descriptions, and the allowed values of an enumerated key. The key path is
 * read from the indentation of the lines above, which is all a block-style sequence file needs.
 */
import type { CompletionContext, CompletionResult } from '@codemirror/autocomplete';
import { api } from './api.js';

type Schema = {
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  description?: string;
  $ref?: string;
  $defs?: Record<string, Schema>;
  propertyNames?: Schema;
  additionalProperties?: Schema | boolean;
};

let root: Promise<Schema> | null = null;

function deref(s: Schema | undefined, top: Schema): Schema | undefined {
  if (s?.$ref?.startsWith('#/$defs/')) return top.$defs?.[s.$ref.slice(8)];
  return s;
}

function objectLike(s: Schema | undefined, top: Schema): Schema | undefined {
  s = deref(s, top);
  if (!s) return undefined;
  if (s.properties || s.propertyNames) return s;
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) {
    const found = objectLike(alt, top);
    if (found) return found;
  }
  return s;
}

function child(s: Schema | undefined, key: string | number, top: Schema): Schema | undefined {
  const o = objectLike(s, top);
  if (typeof key === 'number') return objectLike(o?.items, top);
  return objectLike(
    o?.properties?.[key] ?? (typeof o?.additionalProperties === 'object' ? o.additionalProperties : undefined),
    top,
  );
}

/** The key path of the mapping the cursor's line belongs to, from the indentation above. */
function pathAt(lines: string[], indent: number, listItem: boolean): (string | number)[] {
  const path: (string | number)[] = [];
  let want = indent;
  if (listItem) path.unshift(0);
  for (let i = lines.length - 1; i >= 0 && want > 0; i--) {
    const m = /^(\s*)(- +)?([A-Za-z_][\w-]*)?\s*:?/.exec(lines[i]!);
    if (!m || lines[i]!.trim() === '' || lines[i]!.trim().startsWith('#')) continue;
    const own = m[1]!.length;
    const keyCol = own + (m[2]?.length ?? 0);
    if (keyCol < want && m[3]) {
      path.unshift(m[3]);
      if (m[2]) path.unshift(0);
      want = own;
    } else if (m[2] && own < want) {
      path.unshift(0);
      want = own;
    }
  }
  return path;
}

/** The completion source for the editor. */
export async function schemaCompletion(ctx: CompletionContext): Promise<CompletionResult | null> {
  root ??= api<Schema>('GET', '/api/schema');
  const top = await root;
  const line = ctx.state.doc.lineAt(ctx.pos);
  const before = line.text.slice(0, ctx.pos - line.from);
  const above = ctx.state.doc.sliceString(0, line.from).split('\n');
  const value = /^(\s*)(- +)?([\w-]+):\s*(\w*)$/.exec(before);
  if (value) {
    const indent = value[1]!.length + (value[2]?.length ?? 0);
    let s: Schema | undefined = objectLike(top, top);
    for (const k of pathAt(above, indent, Boolean(value[2]))) s = child(s, k, top);
    const target = deref(objectLike(s, top)?.properties?.[value[3]!], top);
    const options = [...(target?.enum ?? []), ...(target?.anyOf ?? []).flatMap((a) => deref(a, top)?.enum ?? [])].map(
      String,
    );
    if (options.length === 0) return null;
    return { from: ctx.pos - value[4]!.length, options: options.map((o) => ({ label: o, type: 'enum' })) };
  }
  const key = /^(\s*)(- +)?([\w-]*)$/.exec(before);
  if (!key || (!ctx.explicit && key[3] === '')) return null;
  const indent = key[1]!.length + (key[2]?.length ?? 0);
  let s: Schema | undefined = objectLike(top, top);
  for (const k of pathAt(above, indent, Boolean(key[2]))) s = child(s, k, top);
  const props = objectLike(s, top)?.properties;
  if (!props) return null;
  return {
    from: ctx.pos - key[3]!.length,
    options: Object.entries(props).map(([label, p]) => ({
      label,
      type: 'property',
      apply: `${label}: `,
      info: deref(p, top)?.description,
    })),
    validFor: /^[\w-]*$/,
  };
}
