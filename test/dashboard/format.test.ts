import { describe, expect, it } from 'vitest';
import { display, jsonForScript, metric, pointer } from '../../src/dashboard/format.js';
import { mismatch, resolvePointer } from './helpers.js';

/** What the browser reads from a rendered metric span. */
function shown(html: string) {
  const attr = (n: string) => new RegExp(`${n}="([^"]*)"`).exec(html)![1]!;
  return {
    metric: attr('data-metric'),
    path: attr('data-path'),
    format: attr('data-format'),
    value: attr('data-value'),
    text: />([^<]*)<\/span>$/.exec(html)![1]!,
  };
}

describe('dashboard number formats', () => {
  it('shows counts, money, rates and percentage points readably', () => {
    expect(display(1234567, 'int')).toBe('1,234,567');
    expect(display(123456, 'money', 'EUR')).toBe('€1,234.56');
    expect(display(0.35483, 'pct')).toBe('35.5%');
    expect(display(0.0012, 'pct')).toBe('0.12%');
    expect(display(-0.1138, 'pp')).toBe('−11.38 pp');
    expect(display(null, 'int')).toBe('—');
  });

  it('lets the page be checked against the JSON, and catches a wrong number', () => {
    const doc = {
      sequences: [{ funnel: { sent: 1234, revenueMinor: 19823, rates: { open: 0.3548387, conversion: null } } }],
    };
    const cases: [(string | number)[], 'int' | 'money' | 'pct'][] = [
      [['sequences', 0, 'funnel', 'sent'], 'int'],
      [['sequences', 0, 'funnel', 'revenueMinor'], 'money'],
      [['sequences', 0, 'funnel', 'rates', 'open'], 'pct'],
      [['sequences', 0, 'funnel', 'rates', 'conversion'], 'pct'],
    ];
    for (const [path, format] of cases) {
      const m = shown(metric('x', path, resolvePointer(doc, pointer(path)) as number | null, format, 'EUR'));
      expect(mismatch(m, resolvePointer(doc, m.path))).toBeNull();
    }
    const sent = shown(metric('x.sent', ['sequences', 0, 'funnel', 'sent'], 1234, 'int'));
    expect(mismatch(sent, 1235)).toMatch(/data-value 1234/);
    expect(mismatch({ ...sent, text: '1,235' }, 1234)).toMatch(/page shows "1,235"/);
    expect(mismatch({ ...sent, path: '/nope' }, undefined)).toMatch(/not in the stats JSON/);
    const rate = shown(metric('x.open', ['r'], 0.3548387, 'pct'));
    expect(mismatch({ ...rate, text: '35.7%' }, 0.3548387)).not.toBeNull();
  });

  it('escapes JSON pointers and script-closing text', () => {
    expect(pointer(['a/b', 'c~d', 0])).toBe('/a~1b/c~0d/0');
    expect(resolvePointer({ 'a/b': { 'c~d': [7] } }, '/a~1b/c~0d/0')).toBe(7);
    const json = jsonForScript({ name: '</script><script>alert(1)</script>' });
    expect(json).not.toContain('</script>');
    expect(JSON.parse(json)).toEqual({ name: '</script><script>alert(1)</script>' });
  });
});
