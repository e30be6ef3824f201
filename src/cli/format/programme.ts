/** Terminal rendering of the experiments in `comeback stats`: path experiments and the programme vs the control group. */
import { ALLOCATION } from '../../metrics/cohorts.js';
import type { ProgrammeReport, SequenceReport } from '../../metrics/types.js';
import { formatMoney } from '../../util/money.js';
import { formatTable } from '../../util/table.js';
import { pct, upliftCell } from './report.js';

/** The programme section, or '' when there is no control group and never was one. */
export function programmeText(p: ProgrammeReport, currency: string, locale = 'en'): string {
  const u = p.uplift;
  if (p.controlShare === 0 && u.holdout.enrolled === 0) return '';
  const money = (m: number | null) => (m === null ? '–' : formatMoney(Math.round(m), currency, locale));
  const range = (ci: [number, number] | null) => (ci ? ` [${money(ci[0])}, ${money(ci[1])}]` : '');
  const head = `programme vs global control group (${pct(p.controlShare)} of customers, rotation "${p.rotation}"), orders within ${p.windowDays} days of a customer's first entry`;
  const pending = p.pending > 0 ? `; ${p.pending} customers still inside their window` : '';
  if (!u.available || !u.absoluteCi95) return `${head}\n  ${u.reason ?? 'n/a'}${pending}`;
  return [
    head,
    `  conversion: programme ${pct(u.mailed.conversionRate)} (${u.mailed.conversions}/${u.mailed.enrolled}) vs control ${pct(u.holdout.conversionRate)} (${u.holdout.conversions}/${u.holdout.enrolled}): ${upliftCell(u)} 95% CI — ${u.verdict}`,
    `  revenue per eligible customer: ${money(u.mailed.revenuePerEnrolledMinor)} vs ${money(u.holdout.revenuePerEnrolledMinor)}, difference ${money(u.revenuePerEnrolledDifferenceMinor)}${range(u.revenuePerEnrolledDifferenceCi95)} — ${u.revenueVerdict}`,
    `  net revenue per eligible customer: difference ${money(p.netRevenue.differenceMinor)}${range(p.netRevenue.ci95)} — ${p.netRevenue.verdict ?? '–'}${pending}`,
  ].join('\n');
}

/** The path experiments of the report's sequences: each cohort vs the holdout, then every pair (corrected). */
export function pathsText(sequences: SequenceReport[]): string {
  const parts: string[] = [];
  for (const s of sequences) {
    const p = s.paths;
    if (!p) continue;
    const pp = (x: number | null) => (x === null ? '–' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} pp`);
    parts.push(
      `${s.sequenceId}: path experiment, ${p.cohorts.length} cohorts drawn at entry; pairs Bonferroni-corrected for ${p.comparisons} comparison${p.comparisons === 1 ? '' : 's'} (each at ${pct(p.pairLevel)})${p.pairMethod === 'stratified' ? ', compared within allocation epochs' : ''}`,
      ALLOCATION[p.allocation],
      formatTable(
        ['cohort', 'share now', 'P(best)', 'matured', 'mailed', 'conversions', 'conv. rate', 'vs holdout'],
        p.cohorts.map((c) => [
          c.cohortId,
          pct(c.share),
          c.probabilityBest === null ? '–' : pct(c.probabilityBest),
          c.matured,
          c.uplift.mailed.enrolled,
          c.uplift.mailed.conversions,
          pct(c.uplift.mailed.conversionRate),
          c.vsHoldoutStratified
            ? `${pp(c.vsHoldoutStratified.difference)} [${(c.vsHoldoutStratified.ci95[0] * 100).toFixed(1)}, ${(c.vsHoldoutStratified.ci95[1] * 100).toFixed(1)}] within epochs`
            : upliftCell(c.uplift),
        ]),
      ),
      formatTable(
        ['pair', 'difference', 'corrected interval', 'better', 'detectable'],
        p.pairs.map((x) => [
          `${x.b} − ${x.a}`,
          pp(x.difference),
          x.ci ? `[${(x.ci[0] * 100).toFixed(1)}, ${(x.ci[1] * 100).toFixed(1)}]` : '–',
          x.better ?? 'not significant',
          pp(x.minimumDetectableEffect),
        ]),
      ),
    );
  }
  return parts.join('\n\n');
}
