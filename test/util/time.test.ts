import { describe, expect, it } from 'vitest';
import { parseTime } from '../../src/util/time.js';

describe('parseTime', () => {
  it('reads ISO dates and times as UTC unless they carry an offset', () => {
    expect(parseTime('2026-03-01')).toBe(Date.UTC(2026, 2, 1));
    expect(parseTime('2026-03-01T12:30')).toBe(Date.UTC(2026, 2, 1, 12, 30));
    expect(parseTime('2026-03-01 12:30:15')).toBe(Date.UTC(2026, 2, 1, 12, 30, 15));
    expect(parseTime('2026-03-01T12:30:15.250Z')).toBe(Date.UTC(2026, 2, 1, 12, 30, 15, 250));
    expect(parseTime('2026-03-01T12:30:00+01:00')).toBe(Date.UTC(2026, 2, 1, 11, 30));
    expect(parseTime('2026-03-01T12:30:00-0530')).toBe(Date.UTC(2026, 2, 1, 18, 0));
    expect(parseTime(new Date(Date.UTC(2026, 10, 30, 2, 55, 21, 123)).toISOString())).toBe(
      Date.UTC(2026, 10, 30, 2, 55, 21, 123),
    );
  });

  it('reads day-first dotted dates as German shop exports write them', () => {
    expect(parseTime('24.11.2026')).toBe(Date.UTC(2026, 10, 24));
    expect(parseTime('1.3.2026 07:05')).toBe(Date.UTC(2026, 2, 1, 7, 5));
    expect(parseTime('01.03.2026, 07:05:09')).toBe(Date.UTC(2026, 2, 1, 7, 5, 9));
  });

  it('refuses what Date.parse would misread: bare numbers, impossible dates, other formats', () => {
    for (const bad of [
      '1',
      '12',
      '2026',
      '2026-02-30',
      '2026-13-01',
      '31.04.2026',
      '2026-03-01T24:00',
      'Nov 21 2026',
      '03/01/2026',
      '',
      'tomorrow',
    ]) {
      expect(parseTime(bad), bad).toBeUndefined();
    }
    expect(parseTime('29.02.2028')).toBe(Date.UTC(2028, 1, 29)); // a leap year
  });

  it('does not depend on the time zone of the machine', () => {
    const before = process.env.TZ;
    process.env.TZ = 'Pacific/Kiritimati';
    try {
      expect(parseTime('2026-03-01 12:00')).toBe(Date.UTC(2026, 2, 1, 12));
    } finally {
      process.env.TZ = before;
    }
  });
});
