import type { Kysely } from 'kysely';
import { statementChunks } from '../db/chunks.js';
import type { Database } from '../db/schema.js';
import { parseInput } from '../util/parse-input.js';
import { ProductInput } from './types.js';

/** Inserts or updates catalogue products by external id (SKU). */
export async function upsertProducts(
  db: Kysely<Database>,
  inputs: ProductInput[],
  defaultCurrency: string,
): Promise<void> {
  if (inputs.length === 0) return;
  const rows = inputs.map((input) => {
    const p = parseInput(ProductInput, input, 'product');
    return {
      external_id: p.externalId,
      name: p.name,
      category: p.category ?? null,
      price_minor: p.priceMinor,
      currency: p.currency ?? defaultCurrency,
      url: p.url ?? null,
      image_url: p.imageUrl ?? null,
      in_stock: p.inStock ? 1 : 0,
    };
  });
  for (const chunk of statementChunks(rows, Object.keys(rows[0]!).length)) {
    await db
      .insertInto('products')
      .values(chunk)
      .onConflict((oc) =>
        oc.column('external_id').doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          category: eb.ref('excluded.category'),
          price_minor: eb.ref('excluded.price_minor'),
          currency: eb.ref('excluded.currency'),
          url: eb.ref('excluded.url'),
          image_url: eb.ref('excluded.image_url'),
          in_stock: eb.ref('excluded.in_stock'),
        })),
      )
      .execute();
  }
}
