import { describe, expect, it } from 'vitest';
import { DEFAULT_GUARD_THRESHOLDS, deliverabilityVerdict } from '../../src/metrics/stats/index.js';

describe('deliverabilityVerdict (defaults: warn 0.1%, pause 0.3% complaints, pause 5% hard bounces, from 200 sent)', () => {
  it('clean volume is ok, with the rates stated', () => {
    // 0 / 1000 = 0.00% complaints, 10 / 1000 = 1.00% hard bounces
    const v = deliverabilityVerdict({ sent: 1000, complaints: 0, hardBounces: 10 });
    expect(v.level).toBe('ok');
    expect(v.rates).toEqual({ complaint: 0, hardBounce: 0.01 });
    expect(v.reasons).toEqual(['complaint rate 0.00% and hard-bounce rate 1.00% are under their thresholds (0.10%, 5.00%)']);
  });

  it('complaints: reaching 0.1% warns, reaching 0.3% pauses', () => {
    expect(deliverabilityVerdict({ sent: 1001, complaints: 1, hardBounces: 0 }).level).toBe('ok'); // 0.0999%
    const warn = deliverabilityVerdict({ sent: 1000, complaints: 1, hardBounces: 0 }); // exactly 0.1%
    expect(warn.level).toBe('warn');
    expect(warn.reasons).toEqual(['complaint rate 0.10% (1 of 1000) reached the warning threshold 0.10%']);
    expect(deliverabilityVerdict({ sent: 1000, complaints: 2, hardBounces: 0 }).level).toBe('warn'); // 0.2%
    const pause = deliverabilityVerdict({ sent: 1000, complaints: 3, hardBounces: 0 }); // exactly 0.3%
    expect(pause.level).toBe('pause');
    expect(pause.reasons).toEqual(['complaint rate 0.30% (3 of 1000) reached the pause threshold 0.30%']);
  });

  it('hard bounces: reaching 5% pauses', () => {
    expect(deliverabilityVerdict({ sent: 1000, complaints: 0, hardBounces: 49 }).level).toBe('ok'); // 4.9%
    const v = deliverabilityVerdict({ sent: 1000, complaints: 0, hardBounces: 50 }); // 5.0%
    expect(v.level).toBe('pause');
    expect(v.reasons).toEqual(['hard-bounce rate 5.00% (50 of 1000) reached the pause threshold 5.00%']);
  });

  it('every finding is listed, and pause outranks warn', () => {
    // 2 / 1000 = 0.2% complaints (warn) and 80 / 1000 = 8% hard bounces (pause)
    const v = deliverabilityVerdict({ sent: 1000, complaints: 2, hardBounces: 80 });
    expect(v.level).toBe('pause');
    expect(v.reasons).toHaveLength(2);
    expect(v.reasons[0]).toMatch(/^complaint rate 0\.20%.*warning threshold/);
    expect(v.reasons[1]).toMatch(/^hard-bounce rate 8\.00%.*pause threshold/);
  });

  it('below minVolume a rate never pauses, but the verdict says why', () => {
    // 1 / 150 = 0.67% complaints: over the 0.3% pause threshold, but only 150 sent
    const complaint = deliverabilityVerdict({ sent: 150, complaints: 1, hardBounces: 0 });
    expect(complaint.level).toBe('warn');
    expect(complaint.reasons).toEqual(['complaint rate 0.67% (1 of 150) reached the pause threshold 0.30%, but only 150 sent (rates may pause from 200): warning instead of pausing']);
    // 20 / 150 = 13.33% hard bounces: the same
    const bounce = deliverabilityVerdict({ sent: 150, complaints: 0, hardBounces: 20 });
    expect(bounce.level).toBe('warn');
    expect(bounce.reasons[0]).toMatch(/^hard-bounce rate 13\.33% \(20 of 150\).*only 150 sent.*warning instead of pausing$/);
    // Nothing over a threshold: ok, and the low volume is the stated reason
    const quiet = deliverabilityVerdict({ sent: 40, complaints: 0, hardBounces: 1 });
    expect(quiet.level).toBe('ok');
    expect(quiet.reasons).toEqual(['only 40 sent (rates may pause from 200); nothing over a threshold so far (complaint rate 0.00%, hard-bounce rate 2.50%)']);
  });

  it('at exactly minVolume the rates count in full', () => {
    // 1 / 200 = 0.5% ≥ 0.3%
    expect(deliverabilityVerdict({ sent: 200, complaints: 1, hardBounces: 0 }).level).toBe('pause');
    expect(deliverabilityVerdict({ sent: 199, complaints: 1, hardBounces: 0 }).level).toBe('warn');
  });

  it('nothing sent is ok; thresholds can be overridden in part', () => {
    expect(deliverabilityVerdict({ sent: 0, complaints: 0, hardBounces: 0 })).toEqual({ level: 'ok', reasons: ['nothing sent yet'], rates: { complaint: 0, hardBounce: 0 } });
    expect(deliverabilityVerdict({ sent: 150, complaints: 1, hardBounces: 0 }, { minVolume: 100 }).level).toBe('pause');
    expect(deliverabilityVerdict({ sent: 1000, complaints: 0, hardBounces: 30 }, { hardBouncePause: 0.02 }).level).toBe('pause');
    expect(DEFAULT_GUARD_THRESHOLDS).toEqual({ complaintWarn: 0.001, complaintPause: 0.003, hardBouncePause: 0.05, minVolume: 200 });
  });

  it('refuses impossible counts and thresholds', () => {
    expect(() => deliverabilityVerdict({ sent: 10, complaints: 11, hardBounces: 0 })).toThrow(/cannot exceed sent/);
    expect(() => deliverabilityVerdict({ sent: -1, complaints: 0, hardBounces: 0 })).toThrow(/sent must be/);
    expect(() => deliverabilityVerdict({ sent: 10, complaints: 0, hardBounces: 0 }, { complaintWarn: 0.01, complaintPause: 0.005 })).toThrow(/complaintWarn/);
    expect(() => deliverabilityVerdict({ sent: 10, complaints: 0, hardBounces: 0 }, { hardBouncePause: 0 })).toThrow(/hardBouncePause/);
  });
});
