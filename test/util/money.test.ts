import { expect, it } from 'vitest';
import { parseMajorAmount } from '../../src/util/money.js';

it('reads amounts as shops export them, into minor units, and refuses the ambiguous ones', () => {
  const eur = (s: string) => parseMajorAmount(s, 'EUR');
  expect(eur('49.90')).toBe(4990);
  expect(eur('49,9')).toBe(4990);
  expect(eur(' -3 ')).toBe(-300);
  expect(eur('1.234,50')).toBe(123450);
  expect(eur('1,234.50')).toBe(123450);
  expect(eur("1'234.50")).toBe(123450);
  expect(eur('1.234.567')).toBe(123456700);
  expect(eur('-1.234,5')).toBe(-123450);
  expect(eur('1.234')).toBeUndefined(); // one thousand two hundred thirty-four, or 1.234 euros?
  expect(eur('1,234')).toBeUndefined();
  expect(eur('1.234.5')).toBeUndefined();
  expect(eur('1,234,50')).toBeUndefined();
  expect(eur('12.34.56')).toBeUndefined();
  expect(eur('abc')).toBeUndefined();
  expect(parseMajorAmount('1.234', 'JPY')).toBeUndefined();
  expect(parseMajorAmount('1.234.000', 'JPY')).toBe(1234000);
  expect(parseMajorAmount('12.345', 'KWD')).toBe(12345); // three minor digits: a decimal
});
