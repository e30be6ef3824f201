/** The dashboard's programme section: all sequences together against the global control group. */
import type { ProgrammeReport } from '../metrics/types.js';
import { esc } from '../server/pages.js';
import { interval, metric } from './format.js';

/** The section, or '' when there is no control group and never was one. */
export function programmeSection(p: ProgrammeReport | undefined, currency: string): string {
  if (!p || (p.controlShare === 0 && p.uplift.holdout.enrolled === 0)) return '';
  const u = p.uplift;
  const up = ['programme', 'uplift'];
  const head = `<h2>Programme vs global control group</h2><p class="small muted">${metric('programme.controlShare', ['programme', 'controlShare'], p.controlShare, 'pct')} of customers never mailed (rotation “${esc(p.rotation)}”); orders within ${p.windowDays} days of a customer's first entry; ${metric('programme.pending', ['programme', 'pending'], p.pending, 'int')} customers still inside their window.</p>`;
  if (!u.available) return `<section id="programme">${head}<p class="notice">No programme uplift yet: ${esc(u.reason ?? 'not available')}.</p></section>`;
  return (
    `<section id="programme">${head}<dl class="uplift">` +
    `<dt>Eligible customers</dt><dd>programme ${metric('programme.mailed.enrolled', [...up, 'mailed', 'enrolled'], u.mailed.enrolled, 'int')}, control ${metric('programme.holdout.enrolled', [...up, 'holdout', 'enrolled'], u.holdout.enrolled, 'int')}</dd>` +
    `<dt>Conversion</dt><dd>${metric('programme.mailed.conversionRate', [...up, 'mailed', 'conversionRate'], u.mailed.conversionRate, 'pct')} vs ${metric('programme.holdout.conversionRate', [...up, 'holdout', 'conversionRate'], u.holdout.conversionRate, 'pct')}: ${metric('programme.absolute', [...up, 'absolute'], u.absolute, 'pp')} 95% CI ${interval('programme.absoluteCi95', [...up, 'absoluteCi95'], u.absoluteCi95, 'pp')} — ${esc(u.verdict ?? '')}</dd>` +
    `<dt>Revenue per eligible customer</dt><dd>${metric('programme.revenueDifference', [...up, 'revenuePerEnrolledDifferenceMinor'], u.revenuePerEnrolledDifferenceMinor, 'money', currency)} 95% CI ${interval('programme.revenueCi95', [...up, 'revenuePerEnrolledDifferenceCi95'], u.revenuePerEnrolledDifferenceCi95, 'money', currency)} — ${esc(u.revenueVerdict ?? '')}</dd>` +
    `<dt>Net revenue per eligible customer</dt><dd>${metric('programme.netRevenueDifference', ['programme', 'netRevenue', 'differenceMinor'], p.netRevenue.differenceMinor, 'money', currency)} 95% CI ${interval('programme.netRevenueCi95', ['programme', 'netRevenue', 'ci95'], p.netRevenue.ci95, 'money', currency)} — ${esc(p.netRevenue.verdict ?? '')}</dd>` +
    `</dl></section>`
  );
}
