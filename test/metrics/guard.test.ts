import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARD_THRESHOLDS, deliverabilityVerdict, rateEvidence } from '../../src/metrics/stats/index.js';

describe('deliverabilityVerdict (defaults: complaints 0.1% acceptable / 0.5% harmful, pause at 2.75×; hard bounces 2% / 5%, 20×; 5 events, 200 sent)', () => {
  it('clean volume is ok, with the rates stated', () => {
    const v = deliverabilityVerdict({ sent: 1000, complaints: 0, hardBounces: 10 });
    expect(v.level).toBe('ok');
    expect(v.rates).toEqual({ complaint: 0, hardBounce: 0.01 });
    expect(v.reasons).toEqual([
      'complaint rate 0.00% and hard-bounce rate 1.00% are under their acceptable rates (0.10%, 2.00%)',
    ]);
  });

  it('the evidence is the likelihood ratio harmful : acceptable', () => {
    // 5 complaints in 1000: (0.005/0.001)^5 · (0.995/0.999)^995 = 3125 · e^(995 · ln(0.995/0.999)) = 3125 · 0.01849 = 57.8
    expect(rateEvidence(5, 1000, 0.001, 0.005)).toBeCloseTo(57.8, 0);
    expect(rateEvidence(0, 1000, 0.001, 0.005)).toBeLessThan(0.02);
  });

  it('complaints: a raw rate over 0.1% warns; enough evidence and 5 complaints pause', () => {
    const warn = deliverabilityVerdict({ sent: 1000, complaints: 2, hardBounces: 0 });
    expect(warn.level).toBe('warn');
    expect(warn.reasons[0]).toMatch(
      /^complaint rate 0\.20% \(2 of 1000\) is .* as likely at the harmful 0\.50% as at the acceptable 0\.10%; only 2 so far \(pauses from 5\)$/,
    );
    const pause = deliverabilityVerdict({ sent: 1000, complaints: 5, hardBounces: 0 });
    expect(pause.level).toBe('pause');
    expect(pause.reasons[0]).toMatch(/evidence reached 2\.75×, pausing$/);
    // 5 complaints in 3000 (0.17%): more than 0.1%, but the counts fit 0.1% better than 0.5%.
    const weak = deliverabilityVerdict({ sent: 3000, complaints: 5, hardBounces: 0 });
    expect(weak.level).toBe('warn');
    expect(weak.evidence.complaint).toBeLessThan(2.75);
  });

  it('hard bounces: 8% of 1000 pauses, 3% warns', () => {
    expect(deliverabilityVerdict({ sent: 1000, complaints: 0, hardBounces: 80 }).level).toBe('pause');
    expect(deliverabilityVerdict({ sent: 1000, complaints: 0, hardBounces: 30 }).level).toBe('warn');
  });

  it('below minVolume nothing pauses, but the verdict says why', () => {
    const v = deliverabilityVerdict({ sent: 150, complaints: 6, hardBounces: 0 });
    expect(v.level).toBe('warn');
    expect(v.reasons[0]).toMatch(/only 150 sent \(pauses from 200\)$/);
  });

  it('nothing sent is ok; thresholds can be overridden in part', () => {
    expect(deliverabilityVerdict({ sent: 0, complaints: 0, hardBounces: 0 }).level).toBe('ok');
    expect(deliverabilityVerdict({ sent: 150, complaints: 6, hardBounces: 0 }, { minVolume: 100 }).level).toBe('pause');
    expect(DEFAULT_GUARD_THRESHOLDS).toEqual({
      complaintWarn: 0.001,
      complaintPause: 0.005,
      complaintEvidence: 2.75,
      hardBounceWarn: 0.02,
      hardBouncePause: 0.05,
      hardBounceEvidence: 20,
      minEvents: 5,
      minVolume: 200,
    });
  });

  it('refuses impossible counts and thresholds', () => {
    expect(() => deliverabilityVerdict({ sent: 10, complaints: 11, hardBounces: 0 })).toThrow(/cannot exceed sent/);
    expect(() => deliverabilityVerdict({ sent: -1, complaints: 0, hardBounces: 0 })).toThrow(/sent must be/);
    expect(() =>
      deliverabilityVerdict(
        { sent: 10, complaints: 0, hardBounces: 0 },
        { complaintWarn: 0.01, complaintPause: 0.005 },
      ),
    ).toThrow(/complaintWarn/);
    expect(() => deliverabilityVerdict({ sent: 10, complaints: 0, hardBounces: 0 }, { hardBouncePause: 0 })).toThrow(
      /hardBouncePause/,
    );
    expect(() => deliverabilityVerdict({ sent: 10, complaints: 0, hardBounces: 0 }, { complaintEvidence: 1 })).toThrow(
      /complaintEvidence/,
    );
  });
});
