import type { SequenceReport, UpliftReport } from '../metrics/report.js';
import type { VariantTimeline } from './timeline.js';

/** A chart for the page: plain JSON that the client script hands to Chart.js (no functions). */
export interface ChartSpec {
  /** id of the `<canvas>` it is drawn on. */
  canvas: string;
  /** Chart.js configuration; `options.percentAxis` names an axis whose ticks are fractions shown as %. */
  config: Record<string, unknown>;
}

const COLORS = ['#1f3a5f', '#3e7cb1', '#81a4cd', '#f4a259', '#bc4b51', '#5b8e7d', '#8e6c8a'];

/** A safe DOM id from a sequence or step id. */
export function domId(...parts: string[]): string {
  return parts.map((p) => p.replace(/[^A-Za-z0-9_-]/g, '_')).join('--');
}

/** Funnel per step: sent, human opens, human clicks and conversions as grouped bars. */
export function funnelChart(seq: SequenceReport): ChartSpec {
  const labels = seq.steps.map((s) => s.stepId);
  const series: [string, (f: SequenceReport['funnel']) => number][] = [
    ['sent', (f) => f.sent],
    ['human opens', (f) => f.humanOpens],
    ['human clicks', (f) => f.humanClicks],
    ['conversions', (f) => f.conversions],
  ];
  return {
    canvas: domId('funnel', seq.sequenceId),
    config: {
      type: 'bar',
      data: {
        labels,
        datasets: series.map(([label, get], i) => ({
          label,
          data: seq.steps.map((s) => get(s.funnel)),
          backgroundColor: COLORS[i],
        })),
      },
      options: { plugins: { title: { display: true, text: 'Funnel per step' } }, scales: { y: { beginAtZero: true } } },
    },
  };
}

/**
 * Uplift with its 95% interval: a floating bar from the low to the high end and a point at the
 * estimate, for the conversion rate difference in percentage points. Null when there is no uplift.
 */
export function upliftChart(sequenceId: string, uplift: UpliftReport): ChartSpec | null {
  if (!uplift.available || uplift.absolute === null || !uplift.absoluteCi95) return null;
  const pp = (v: number) => Math.round(v * 10_000) / 100;
  return {
    canvas: domId('uplift', sequenceId),
    config: {
      type: 'bar',
      data: {
        labels: ['uplift'],
        datasets: [
          {
            type: 'bar',
            label: '95% interval',
            data: [[pp(uplift.absoluteCi95[0]), pp(uplift.absoluteCi95[1])]],
            backgroundColor: uplift.significant ? '#5b8e7d88' : '#81a4cd88',
            borderColor: '#1f3a5f',
            borderWidth: 1,
          },
          {
            type: 'scatter',
            label: 'estimate',
            data: [{ x: pp(uplift.absolute), y: 'uplift' }],
            backgroundColor: '#bc4b51',
            pointRadius: 6,
          },
        ],
      },
      options: {
        indexAxis: 'y',
        plugins: { title: { display: true, text: 'Absolute uplift vs holdout, percentage points (0 = no effect)' } },
        scales: {
          y: { display: false },
          x: {
            suggestedMin: Math.min(0, pp(uplift.absoluteCi95[0])),
            suggestedMax: Math.max(0, pp(uplift.absoluteCi95[1])),
            grid: { color: '#ccc' },
          },
        },
      },
    },
  };
}

/** Traffic share of each variant per week as stacked bars, from the send timeline. */
export function variantTimelineChart(t: VariantTimeline): ChartSpec {
  const labels = Object.keys(t.sends).sort();
  const totals = t.weeks.map((_, i) => labels.reduce((s, l) => s + t.sends[l]![i]!, 0));
  return {
    canvas: domId('variants', t.sequenceId, t.stepId),
    config: {
      type: 'bar',
      data: {
        labels: t.weeks,
        datasets: labels.map((label, i) => ({
          label,
          // A week without sends has no share: an empty column, not 0%.
          data: t.sends[label]!.map((n, w) => (totals[w] ? n / totals[w]! : null)),
          backgroundColor: COLORS[i % COLORS.length],
        })),
      },
      options: {
        percentAxis: 'y',
        plugins: { title: { display: true, text: `Traffic share per week (by first day), step ${t.stepId}` } },
        scales: { x: { stacked: true }, y: { stacked: true, min: 0, max: 1 } },
      },
    },
  };
}

/** Allocation the bandit uses now vs the probability of being best, per variant of a step. */
export function allocationChart(seq: SequenceReport, step: SequenceReport['steps'][number]): ChartSpec {
  return {
    canvas: domId('allocation', seq.sequenceId, step.stepId),
    config: {
      type: 'bar',
      data: {
        labels: step.variants.map((v) => v.label),
        datasets: [
          { label: 'allocation now', data: step.variants.map((v) => v.allocation), backgroundColor: COLORS[0] },
          { label: 'P(best)', data: step.variants.map((v) => v.probabilityBest), backgroundColor: COLORS[3] },
        ],
      },
      options: {
        percentAxis: 'y',
        plugins: { title: { display: true, text: `Variants of step ${step.stepId}` } },
        scales: { y: { min: 0, max: 1 } },
      },
    },
  };
}
