import { DAY } from '../clock.js';
import type { ConsentBasis } from '../consent/types.js';
import type { CustomerInput, OrderInput, ProductInput } from '../shop/types.js';
import { exponential, pickOne } from '../util/random.js';

/** The kinds of customers a synthetic shop has; the demo's results differ by segment. */
export type Segment = 'loyal' | 'lapsed' | 'bargain' | 'one_time';

/** A synthetic customer with their hidden truth (rhythm, segment) for the simulation. */
export interface SyntheticCustomer {
  input: CustomerInput;
  segment: Segment;
  intervalDays: number;
  basket: number;
  consent: ConsentBasis | null;
  objected: boolean;
  orders: OrderInput[];
}

const FIRST = {
  de: ['Anna', 'Lena', 'Marie', 'Jonas', 'Lukas', 'Felix', 'Sophie', 'Paul', 'Emma', 'Leon'],
  en: ['Olivia', 'Amelia', 'Isla', 'Noah', 'Oliver', 'George', 'Ava', 'Leo', 'Mia', 'Jack'],
};
const LAST = {
  de: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker'],
  en: ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Evans', 'Davies'],
};
const CATEGORIES = ['tea', 'coffee', 'chocolate', 'accessories', 'gifts'];

/** The demo shop's catalogue: 40 products in five categories. */
export function syntheticProducts(): ProductInput[] {
  const names: Record<string, string[]> = {
    tea: ['Sencha', 'Darjeeling', 'Rooibos Vanilla', 'Earl Grey', 'Chai', 'Jasmine Pearls', 'Peppermint', 'Matcha'],
    coffee: [
      'Espresso Blend',
      'Ethiopia Sidamo',
      'Colombia Huila',
      'Decaf',
      'Brazil Santos',
      'Kenya AA',
      'Guatemala',
      'Cold Brew',
    ],
    chocolate: ['Dark 70%', 'Milk Hazelnut', 'White Raspberry', 'Sea Salt', 'Orange Peel', 'Chili', 'Mint', 'Almond'],
    accessories: ['Tea Infuser', 'French Press', 'Grinder', 'Kettle', 'Mug', 'Cup Set', 'Scale', 'Thermos'],
    gifts: [
      'Tasting Box',
      'Advent Calendar',
      'Gift Card',
      'Starter Set',
      'Deluxe Box',
      'Mini Box',
      'Travel Set',
      'Card',
    ],
  };
  return CATEGORIES.flatMap((category, ci) =>
    names[category]!.map((name, i) => ({
      externalId: `SKU-${ci}${i}`,
      name,
      category,
      priceMinor: 490 + (((ci * 8 + i) * 370) % 4500),
      url: `https://shop.example.com/p/${ci}${i}`,
      inStock: (ci + i) % 9 !== 0,
    })),
  );
}

/**
 * Generates a deterministic shop: customers with their own purchase rhythm (loyal ones still
 * buying, lapsed ones who stopped, bargain hunters buying on discount, one-time buyers), a mix of
 * consents and a few objections, and their order history up to `now`.
 */
export function syntheticShop(
  rand: () => number,
  count: number,
  now: number,
  products = syntheticProducts(),
): SyntheticCustomer[] {
  const customers: SyntheticCustomer[] = [];
  for (let i = 0; i < count; i++) {
    const locale = rand() < 0.6 ? 'de' : 'en';
    const r = rand();
    const segment: Segment = r < 0.35 ? 'loyal' : r < 0.75 ? 'lapsed' : r < 0.88 ? 'bargain' : 'one_time';
    const intervalDays = 10 + exponential(rand, 35);
    const basket = Math.round(2000 + exponential(rand, 4000));
    const c = rand();
    const objected = c > 0.95;
    const consent: ConsentBasis | null =
      c < 0.55 ? 'double_opt_in' : c < 0.85 ? 'existing_customer' : c < 0.95 ? null : 'opt_in';
    const first = pickOne(rand, FIRST[locale]);
    const last = pickOne(rand, LAST[locale]);
    const id = `C${String(i + 1).padStart(6, '0')}`;
    const input: CustomerInput = {
      externalId: id,
      email: `${first}.${last}.${i + 1}@example.com`.toLowerCase().replace(/ü/g, 'ue'),
      firstName: first,
      lastName: last,
      gender: rand() < 0.5 ? (FIRST[locale].indexOf(first) % 2 === 0 ? 'f' : 'm') : null,
      locale,
      timeZone:
        locale === 'de' ? 'Europe/Berlin' : pickOne(rand, ['Europe/London', 'America/New_York', 'Europe/Dublin']),
      acquiredVia: consent === 'existing_customer' || rand() < 0.7 ? 'sale' : 'newsletter',
      latePayments: rand() < 0.05 ? 1 + Math.floor(rand() * 3) : 0,
    };
    // History: from a first order up to 2 years back, to now (loyal) or to a lapse point.
    let t = now - (120 + rand() * 610) * DAY;
    const stopAt = segment === 'loyal' ? now : segment === 'one_time' ? t + DAY : now - (60 + rand() * 240) * DAY;
    const orders: OrderInput[] = [];
    while (t < stopAt && orders.length < 60) {
      const items = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pickOne(rand, products));
      const total = items.reduce((s, p) => s + p.priceMinor, 0);
      const discounted = segment === 'bargain' ? rand() < 0.8 : rand() < 0.15;
      orders.push({
        externalId: `${id}-O${orders.length + 1}`,
        customerExternalId: id,
        orderedAt: Math.round(t),
        totalMinor: discounted ? Math.round(total * 0.8) : total,
        discountMinor: discounted ? Math.round(total * 0.2) : 0,
        paidLate: rand() < 0.03,
        items: items.map((p) => ({
          sku: p.externalId,
          name: p.name,
          category: p.category ?? null,
          unitPriceMinor: p.priceMinor,
        })),
      });
      if (segment === 'one_time') break;
      t += Math.max(2, intervalDays * (0.5 + rand())) * DAY;
    }
    customers.push({ input, segment, intervalDays, basket, consent, objected, orders });
  }
  return customers;
}
