import { currencyDigits } from '../util/money.js';
import type { ParsedOrder } from './types.js';

/** The shop's currency and the configured rates into it (`{ USD: 0.92 }`: 1 USD = 0.92 of it). */
export interface ShopMoney {
  currency: string;
  exchangeRates?: Record<string, number>;
}

/** An order in the shop's currency; `original` is what the shop reported when it was converted. */
export type ShopOrder = ParsedOrder & { original?: { totalMinor: number; currency: string } };

/** The order's currency, upper case; the shop's when the order names none. */
function currencyOf(order: ParsedOrder, money: ShopMoney): string {
  return (order.currency ?? money.currency).toUpperCase();
}

/**
 * Why the order cannot be taken in the shop's currency (`currency: ...`, naming the fix), or
 * undefined when it can: it is in the shop's currency, or the config has a rate for it.
 * Adding amounts of two currencies would be wrong, so one without a rate is refused.
 */
export function currencyProblem(order: ParsedOrder, money: ShopMoney): string | undefined {
  const currency = currencyOf(order, money);
  if (currency === money.currency || money.exchangeRates?.[currency] !== undefined) return undefined;
  return (
    `currency: "${currency}" is not the shop's currency ${money.currency}; ` +
    `send the amounts in ${money.currency}, or give a rate in the config (exchangeRates: { ${currency}: 0.92 } ` +
    `means 1 ${currency} = 0.92 ${money.currency})`
  );
}

/**
 * The order in the shop's currency: amounts converted with the configured rate (rounded to the
 * shop currency's minor unit), the reported total and currency kept in `original`. Call
 * `currencyProblem` first; an order without a rate throws here.
 */
export function toShopCurrency(order: ParsedOrder, money: ShopMoney): ShopOrder {
  const currency = currencyOf(order, money);
  if (currency === money.currency) return { ...order, currency };
  const rate = money.exchangeRates?.[currency];
  if (rate === undefined) throw new Error(currencyProblem(order, money));
  // Minor units differ between currencies (JPY has none, EUR two): convert through major units.
  const scale = (10 ** currencyDigits(money.currency) / 10 ** currencyDigits(currency)) * rate;
  const convert = (minor: number) => Math.round(minor * scale);
  return {
    ...order,
    currency: money.currency,
    totalMinor: convert(order.totalMinor),
    discountMinor: convert(order.discountMinor),
    returnedMinor: convert(order.returnedMinor),
    items: order.items.map((i) => ({ ...i, unitPriceMinor: convert(i.unitPriceMinor) })),
    original: { totalMinor: order.totalMinor, currency },
  };
}
