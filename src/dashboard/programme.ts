/** The dashboard's experiment sections: path experiments, and all sequences together against the global control group. */
import type { ProgrammeReport, SequenceReport } from '../metrics/types.js';
import { ALLOCATION } from '../metrics/cohorts.js';
import { esc } from '../server/pages.js';
import { interval, metric } from './format.js';

/** The section, or '' when there is no control group and never was one. */
export function programmeSection(p: ProgrammeReport | undefined, currency: string): string {
  if (!p || (p.controlShare === 0 && p.uplift.holdout.enrolled === 0)) return '';
  const u = p.uplift;
  const up = ['programme', 'uplift'];
  const head = `<h2>Programme vs global control group</h2><p class="small muted">${metric('programme.controlShare', ['programme', 'controlShare'], p.controlShare, 'pct')} of customers never mailed (rotation “${esc(p.rotation)}”); orders within ${p.windowDays} days of a customer's first entry; ${metric('programme.pending', ['programme', 'pending'], p.pending, 'int')} customers still inside their window.</p>`;
  if (!u.available)
    return `<section id="programme">${head}<p class="notice">No programme uplift yet: ${esc(u.reason ?? 'not available')}.</p></section>`;
  return (
    `<section id="programme">${head}<dl class="uplift">` +
    `<dt>Eligible customers</dt><dd>programme ${metric('programme.mailed.enrolled', [...up, 'mailed', 'enrolled'], u.mailed.enrolled, 'int')}, control ${metric('programme.holdout.enrolled', [...up, 'holdout', 'enrolled'], u.holdout.enrolled, 'int')}</dd>` +
    `<dt>Conversion</dt><dd>${metric('programme.mailed.conversionRate', [...up, 'mailed', 'conversionRate'], u.mailed.conversionRate, 'pct')} vs ${metric('programme.holdout.conversionRate', [...up, 'holdout', 'conversionRate'], u.holdout.conversionRate, 'pct')}: ${metric('programme.absolute', [...up, 'absolute'], u.absolute, 'pp')} 95% CI ${interval('programme.absoluteCi95', [...up, 'absoluteCi95'], u.absoluteCi95, 'pp')} — ${esc(u.verdict ?? '')}</dd>` +
    `<dt>Revenue per eligible customer</dt><dd>${metric('programme.revenueDifference', [...up, 'revenuePerEnrolledDifferenceMinor'], u.revenuePerEnrolledDifferenceMinor, 'money', currency)} 95% CI ${interval('programme.revenueCi95', [...up, 'revenuePerEnrolledDifferenceCi95'], u.revenuePerEnrolledDifferenceCi95, 'money', currency)} — ${esc(u.revenueVerdict ?? '')}</dd>` +
    `<dt>Net revenue per eligible customer</dt><dd>${metric('programme.netRevenueDifference', ['programme', 'netRevenue', 'differenceMinor'], p.netRevenue.differenceMinor, 'money', currency)} 95% CI ${interval('programme.netRevenueCi95', ['programme', 'netRevenue', 'ci95'], p.netRevenue.ci95, 'money', currency)} — ${esc(p.netRevenue.verdict ?? '')}</dd>` +
    `</dl></section>`
  );
}

/** A sequence's path experiment: each cohort against the holdout, every pair with its corrected interval. */
export function pathsSection(s: SequenceReport, i: number): string {
  const p = s.paths;
  if (!p) return '';
  const base: (string | number)[] = ['sequences', i, 'paths'];
  const id = `${s.sequenceId}.paths`;
  const cohorts = p.cohorts
    .map((c, j) => {
      const at = [...base, 'cohorts', j, 'uplift'];
      const name = `${id}.${c.cohortId}`;
      return (
        `<tr><td>${esc(c.cohortId)}</td><td>${metric(`${name}.share`, [...base, 'cohorts', j, 'share'], c.share, 'pct')}</td>` +
        `<td>${metric(`${name}.probabilityBest`, [...base, 'cohorts', j, 'probabilityBest'], c.probabilityBest, 'pct')}</td>` +
        `<td>${metric(`${name}.matured`, [...base, 'cohorts', j, 'matured'], c.matured, 'int')}</td>` +
        `<td>${metric(`${name}.mailed`, [...at, 'mailed', 'enrolled'], c.uplift.mailed.enrolled, 'int')}</td>` +
        `<td>${metric(`${name}.rate`, [...at, 'mailed', 'conversionRate'], c.uplift.mailed.conversionRate, 'pct')}</td>` +
        (c.vsHoldoutStratified
          ? `<td>${metric(`${name}.stratified`, [...base, 'cohorts', j, 'vsHoldoutStratified', 'difference'], c.vsHoldoutStratified.difference, 'pp')} ${interval(`${name}.stratifiedCi95`, [...base, 'cohorts', j, 'vsHoldoutStratified', 'ci95'], c.vsHoldoutStratified.ci95, 'pp')} <span class="small muted">within epochs</span></td></tr>`
          : `<td>${metric(`${name}.absolute`, [...at, 'absolute'], c.uplift.absolute, 'pp')} ${interval(`${name}.absoluteCi95`, [...at, 'absoluteCi95'], c.uplift.absoluteCi95, 'pp')}</td></tr>`)
      );
    })
    .join('');
  const pairs = p.pairs
    .map((x, j) => {
      const at = [...base, 'pairs', j];
      const name = `${id}.${x.b}-${x.a}`;
      return (
        `<tr><td>${esc(x.b)} − ${esc(x.a)}</td><td>${metric(`${name}.difference`, [...at, 'difference'], x.difference, 'pp')}</td>` +
        `<td>${interval(`${name}.ci`, [...at, 'ci'], x.ci, 'pp')}</td><td>${x.better ? esc(x.better) : '<span class="muted">not significant</span>'}</td></tr>`
      );
    })
    .join('');
  return (
    `<section id="${esc(`paths-${s.sequenceId}`)}"><h2>${esc(s.sequenceId)}: path experiment</h2>` +
    `<p class="small muted">${ALLOCATION[p.allocation]}</p>` +
    `<div class="table"><table><thead><tr><th>cohort</th><th>share now</th><th>P(best)</th><th>matured</th><th>mailed</th><th>conv. rate</th><th>vs holdout (95% CI)</th></tr></thead><tbody>${cohorts}</tbody></table></div>` +
    `<p class="small muted">Pairs: Bonferroni-corrected for ${p.comparisons} comparisons (each interval at ${(p.pairLevel * 100).toFixed(1)}%)${p.pairMethod === 'stratified' ? ', compared within allocation epochs (Mantel–Haenszel)' : ''}.</p>` +
    `<div class="table"><table><thead><tr><th>pair</th><th>difference</th><th>corrected interval</th><th>better</th></tr></thead><tbody>${pairs}</tbody></table></div></section>`
  );
}
