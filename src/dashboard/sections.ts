import type {
  DeliverabilityReport,
  Funnel,
  ReturnedCustomer,
  SequenceReport,
  StepReport,
  UpliftReport,
} from '../metrics/report.js';
import { esc } from '../server/pages.js';
import { domId } from './charts.js';
import { interval, metric } from './format.js';

type Path = (string | number)[];

/** Shows a value only when the report has it (older reports may lack a field): else a dash. */
function has(v: unknown): boolean {
  return v !== undefined;
}

function badge(level: string, text = level): string {
  return `<span class="badge badge-${esc(level.replace(/[^a-z]/g, ''))}">${esc(text)}</span>`;
}

/** The overview table: one row per sequence with its headline funnel, uplift and health. */
export function overview(seqs: SequenceReport[]): string {
  if (seqs.length === 0)
    return `<p class="muted">No sequences yet: add one under <code>sequences/</code> and run the worker.</p>`;
  const rows = seqs.map((s, i) => {
    const p: Path = ['sequences', i];
    const f = s.funnel;
    const fp: Path = [...p, 'funnel'];
    const id = s.sequenceId;
    const status =
      s.status === 'paused'
        ? `${badge('pause', 'paused')}<div class="small">${esc(s.pausedReason ?? '')}</div>`
        : badge('ok', s.status);
    const uplift = s.uplift?.available
      ? `${metric(`${id}.uplift.absolute`, [...p, 'uplift', 'absolute'], s.uplift.absolute, 'pp')}${s.uplift.significant ? ' ' + badge('ok', 'significant') : ''}`
      : `<span class="muted">${esc(s.uplift?.reason ?? 'not reported')}</span>`;
    return (
      `<tr><td><a href="#${esc(domId('seq', id))}">${esc(s.name ?? id)}</a><div class="small muted">${esc(id)} v${esc(s.version)}</div></td><td>${status}</td>` +
      `<td>${metric(`${id}.enrolled`, [...fp, 'enrolled'], f.enrolled, 'int')}</td>` +
      `<td>${metric(`${id}.holdout`, [...fp, 'holdout'], f.holdout, 'int')}</td>` +
      `<td>${metric(`${id}.sent`, [...fp, 'sent'], f.sent, 'int')}</td>` +
      `<td>${metric(`${id}.humanOpens`, [...fp, 'humanOpens'], f.humanOpens, 'int')}<div class="small">${metric(`${id}.rates.open`, [...fp, 'rates', 'open'], f.rates.open, 'pct')}</div></td>` +
      `<td>${metric(`${id}.humanClicks`, [...fp, 'humanClicks'], f.humanClicks, 'int')}<div class="small">${metric(`${id}.rates.click`, [...fp, 'rates', 'click'], f.rates.click, 'pct')}</div></td>` +
      `<td>${metric(`${id}.unsubscribes`, [...fp, 'unsubscribes'], f.unsubscribes, 'int')}</td>` +
      `<td>${metric(`${id}.complaints`, [...fp, 'complaints'], f.complaints, 'int')}</td>` +
      `<td>${metric(`${id}.conversions`, [...fp, 'conversions'], f.conversions, 'int')}<div class="small">${metric(`${id}.rates.conversion`, [...fp, 'rates', 'conversion'], f.rates.conversion, 'pct')}</div></td>` +
      `<td>${metric(`${id}.revenueMinor`, [...fp, 'revenueMinor'], f.revenueMinor, 'money', s.currency)}</td>` +
      `<td>${metric(`${id}.netRevenueMinor`, [...fp, 'netRevenueMinor'], f.netRevenueMinor, 'money', s.currency)}</td>` +
      `<td>${uplift}</td><td>${s.deliverability ? badge(s.deliverability.level) : '<span class="muted">—</span>'}</td></tr>`
    );
  });
  return (
    `<div class="table"><table class="overview"><thead><tr><th>Sequence</th><th>Status</th><th>Enrolled</th><th>Holdout</th><th>Sent</th><th>Human opens</th><th>Human clicks</th>` +
    `<th>Unsubs</th><th>Complaints</th><th>Conversions</th><th>Revenue</th><th>Net revenue</th><th>Uplift</th><th>Health</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`
  );
}

/** Why a sequence that sent mail shows no deliveries: not a failure, nothing reported them. */
export const NO_DELIVERY_REPORTS =
  'No delivery reports for this sequence: the outbox, and SMTP (whose delivery status notifications are not read), ' +
  "report no deliveries; SendGrid's event webhook does. Bounces, opens and clicks are counted either way.";

/** The per-step table under the funnel chart. */
function stepsTable(s: SequenceReport, p: Path): string {
  if (!s.steps?.length) return `<p class="muted">No steps reported.</p>`;
  // A zero that only means "not reported" is shown as a dash with the reason, not as 0 %.
  const unreported = s.steps.some((st) => st.funnel.sent > 0) && s.steps.every((st) => !st.funnel.delivered);
  const dash = `<span class="muted" title="${esc(NO_DELIVERY_REPORTS)}">—</span>`;
  const rows = s.steps.map((st, j) => {
    const fp: Path = [...p, 'steps', j, 'funnel'];
    const n = `${s.sequenceId}.step.${st.stepId}`;
    const f = st.funnel;
    return (
      `<tr><td>${esc(st.stepId)}</td><td>${metric(`${n}.sent`, [...fp, 'sent'], f.sent, 'int')}</td><td>${unreported ? dash : metric(`${n}.delivered`, [...fp, 'delivered'], f.delivered, 'int')}</td>` +
      `<td>${metric(`${n}.humanOpens`, [...fp, 'humanOpens'], f.humanOpens, 'int')}</td><td>${metric(`${n}.machineOpens`, [...fp, 'machineOpens'], f.machineOpens, 'int')}</td>` +
      `<td>${metric(`${n}.humanClicks`, [...fp, 'humanClicks'], f.humanClicks, 'int')}</td><td>${metric(`${n}.botClicks`, [...fp, 'botClicks'], f.botClicks, 'int')}</td>` +
      `<td>${metric(`${n}.unsubscribes`, [...fp, 'unsubscribes'], f.unsubscribes, 'int')}</td><td>${metric(`${n}.conversions`, [...fp, 'conversions'], f.conversions, 'int')}</td>` +
      `<td>${metric(`${n}.netRevenueMinor`, [...fp, 'netRevenueMinor'], f.netRevenueMinor, 'money', s.currency)}</td></tr>`
    );
  });
  return (
    `<div class="table"><table><thead><tr><th>Step</th><th>Sent</th><th>Delivered</th><th>Human opens</th><th>Machine opens</th><th>Human clicks</th><th>Bot clicks</th><th>Unsubs</th><th>Conversions</th><th>Net revenue</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>` +
    (unreported ? `<p class="small muted delivery-note">Delivered —: ${esc(NO_DELIVERY_REPORTS)}</p>` : '')
  );
}

/** Uplift against the holdout with its intervals, or the reason there is none. */
function upliftBlock(s: SequenceReport, p: Path): string {
  const u: UpliftReport | undefined = s.uplift;
  if (!u) return `<p class="muted">The report has no uplift for this sequence.</p>`;
  const up: Path = [...p, 'uplift'];
  const id = `${s.sequenceId}.uplift`;
  const groups =
    `<div class="table"><table><thead><tr><th></th><th>Enrolled</th><th>Conversions</th><th>Conversion rate</th><th>Revenue / enrolee</th></tr></thead><tbody>` +
    (['mailed', 'holdout'] as const)
      .map(
        (g) =>
          `<tr><td>${g}</td><td>${metric(`${id}.${g}.enrolled`, [...up, g, 'enrolled'], u[g].enrolled, 'int')}</td><td>${metric(`${id}.${g}.conversions`, [...up, g, 'conversions'], u[g].conversions, 'int')}</td>` +
          `<td>${metric(`${id}.${g}.conversionRate`, [...up, g, 'conversionRate'], u[g].conversionRate, 'pct')}</td><td>${metric(`${id}.${g}.revenuePerEnrolledMinor`, [...up, g, 'revenuePerEnrolledMinor'], u[g].revenuePerEnrolledMinor, 'money', s.currency)}</td></tr>`,
      )
      .join('') +
    `</tbody></table></div>`;
  if (!u.available) return `${groups}<p class="notice">No uplift claimed: ${esc(u.reason ?? 'not available')}.</p>`;
  return (
    groups +
    `<dl class="uplift">` +
    `<dt>Absolute uplift</dt><dd>${metric(`${id}.absolute`, [...up, 'absolute'], u.absolute, 'pp')} 95% CI ${interval(`${id}.absoluteCi95`, [...up, 'absoluteCi95'], u.absoluteCi95, 'pp')} ${u.significant ? badge('ok', 'significant') : badge('warn', 'not significant')}</dd>` +
    `<dt>Relative uplift</dt><dd>${metric(`${id}.relative`, [...up, 'relative'], u.relative, 'pct')} 95% CI ${interval(`${id}.relativeCi95`, [...up, 'relativeCi95'], u.relativeCi95, 'pct')}</dd>` +
    `<dt>p-value</dt><dd>${metric(`${id}.pValue`, [...up, 'pValue'], u.pValue, 'prob')}</dd>` +
    `<dt>Detectable</dt><dd>${metric(`${id}.minimumDetectableEffect`, [...up, 'minimumDetectableEffect'], u.minimumDetectableEffect, 'pp')} <span class="small">${esc(u.verdict ?? '')}</span></dd>` +
    `<dt>Incremental revenue</dt><dd>${metric(`${id}.incrementalRevenueMinor`, [...up, 'incrementalRevenueMinor'], u.incrementalRevenueMinor, 'money', s.currency)} 95% CI ${interval(`${id}.incrementalRevenueCi95`, [...up, 'incrementalRevenueCi95'], u.incrementalRevenueCi95, 'money', s.currency)}</dd>` +
    `<dt>Revenue detectable</dt><dd>${metric(`${id}.revenueMinimumDetectableEffectMinor`, [...up, 'revenueMinimumDetectableEffectMinor'], u.revenueMinimumDetectableEffectMinor, 'money', s.currency)} <span class="small">${esc(u.revenueVerdict ?? '')}</span></dd>` +
    `</dl><div class="chart short"><canvas id="${esc(domId('uplift', s.sequenceId))}"></canvas></div>`
  );
}

/** Variants of one step: posterior, probability of being best and allocation, plus the charts. */
function variantsBlock(s: SequenceReport, st: StepReport, j: number, p: Path, hasTimeline: boolean): string {
  const rows = st.variants.map((v, k) => {
    const vp: Path = [...p, 'steps', j, 'variants', k];
    const n = `${s.sequenceId}.variant.${st.stepId}.${v.label}`;
    return (
      `<tr><td>${esc(v.label)}</td><td>${metric(`${n}.trials`, [...vp, 'trials'], v.trials, 'int')}</td><td>${metric(`${n}.successes`, [...vp, 'successes'], v.successes, 'int')}</td>` +
      `<td>${metric(`${n}.conversionPosterior.mean`, [...vp, 'conversionPosterior', 'mean'], v.conversionPosterior?.mean, 'pct')} ${interval(`${n}.conversionPosterior.ci95`, [...vp, 'conversionPosterior', 'ci95'], v.conversionPosterior?.ci95, 'pct')}</td>` +
      `<td>${metric(`${n}.netRevenueMinor`, [...vp, 'funnel', 'netRevenueMinor'], v.funnel.netRevenueMinor, 'money', s.currency)}</td>` +
      `<td>${metric(`${n}.probabilityBest`, [...vp, 'probabilityBest'], v.probabilityBest, 'pct')}</td><td>${metric(`${n}.allocation`, [...vp, 'allocation'], v.allocation, 'pct')}</td></tr>`
    );
  });
  return (
    `<h4>Step ${esc(st.stepId)} <span class="small muted">optimising ${esc(s.optimize ?? 'conversion')}</span></h4>` +
    `<div class="table"><table><thead><tr><th>Variant</th><th>Trials</th><th>Successes</th><th>Conversion (posterior, 95%)</th><th>Net revenue</th><th>P(best)</th><th>Allocation</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>` +
    `<div class="charts"><div class="chart"><canvas id="${esc(domId('allocation', s.sequenceId, st.stepId))}"></canvas></div>` +
    (hasTimeline
      ? `<div class="chart"><canvas id="${esc(domId('variants', s.sequenceId, st.stepId))}"></canvas></div>`
      : `<p class="muted">No sends of this step yet.</p>`) +
    `</div>`
  );
}

/** Rolling complaint and hard-bounce health, the guard's verdict and its reasons. */
function healthBlock(s: SequenceReport, p: Path): string {
  const d: DeliverabilityReport | undefined = s.deliverability;
  if (!d) return `<p class="muted">The report has no deliverability health for this sequence.</p>`;
  const dp: Path = [...p, 'deliverability'];
  const id = `${s.sequenceId}.deliverability`;
  const senders = (d.bySender ?? [])
    .map(
      (x, k) =>
        `<tr><td>${esc(x.sender)}</td><td>${metric(`${id}.${x.sender}.sent`, [...dp, 'bySender', k, 'sent'], x.sent, 'int')}</td><td>${metric(`${id}.${x.sender}.complaintRate`, [...dp, 'bySender', k, 'complaintRate'], x.complaintRate, 'pct')}</td>` +
        `<td>${metric(`${id}.${x.sender}.hardBounceRate`, [...dp, 'bySender', k, 'hardBounceRate'], x.hardBounceRate, 'pct')}</td><td>${badge(x.level)}</td></tr>`,
    )
    .join('');
  return (
    `<p>${badge(d.level)} last ${esc(d.windowDays)} days: ${metric(`${id}.sent`, [...dp, 'sent'], d.sent, 'int')} sent, ` +
    `${metric(`${id}.complaints`, [...dp, 'complaints'], d.complaints, 'int')} complaints (${metric(`${id}.complaintRate`, [...dp, 'complaintRate'], d.complaintRate, 'pct')}; warn at 0.1%, pause at 0.3%), ` +
    `${metric(`${id}.hardBounces`, [...dp, 'hardBounces'], d.hardBounces, 'int')} hard bounces (${metric(`${id}.hardBounceRate`, [...dp, 'hardBounceRate'], d.hardBounceRate, 'pct')}; pause at 5%)</p>` +
    `<ul class="reasons">${(d.reasons ?? []).map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` +
    (senders
      ? `<div class="table"><table><thead><tr><th>Sender</th><th>Sent</th><th>Complaint rate</th><th>Hard-bounce rate</th><th>Verdict</th></tr></thead><tbody>${senders}</tbody></table></div>`
      : '')
  );
}

/** Funnels per stored version and per churn reason, folded away under the step table. */
function breakdowns(s: SequenceReport, p: Path): string {
  const table = <F extends Funnel>(
    title: string,
    key: 'byVersion' | 'byChurnReason',
    list: F[] | undefined,
    label: (f: F) => string,
  ) => {
    if (!list?.length) return '';
    const rows = list.map((f, j) => {
      const fp: Path = [...p, key, j];
      const n = `${s.sequenceId}.${key}.${label(f)}`;
      return (
        `<tr><td>${esc(label(f))}</td><td>${metric(`${n}.enrolled`, [...fp, 'enrolled'], f.enrolled, 'int')}</td><td>${metric(`${n}.sent`, [...fp, 'sent'], f.sent, 'int')}</td>` +
        `<td>${metric(`${n}.humanClicks`, [...fp, 'humanClicks'], f.humanClicks, 'int')}</td><td>${metric(`${n}.conversions`, [...fp, 'conversions'], f.conversions, 'int')}</td>` +
        `<td>${metric(`${n}.rates.conversion`, [...fp, 'rates', 'conversion'], f.rates?.conversion, 'pct')}</td><td>${metric(`${n}.netRevenueMinor`, [...fp, 'netRevenueMinor'], f.netRevenueMinor, 'money', s.currency)}</td></tr>`
      );
    });
    return `<div class="table"><table><thead><tr><th>${title}</th><th>Enrolled</th><th>Sent</th><th>Human clicks</th><th>Conversions</th><th>Conversion rate</th><th>Net revenue</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  };
  const body =
    table('Version', 'byVersion', s.byVersion, (f) => `v${f.version}`) +
    table('Churn reason', 'byChurnReason', s.byChurnReason, (f) => f.churnReason);
  return body ? `<details><summary>By version and churn reason</summary>${body}</details>` : '';
}

/** Everything about one sequence: funnel per step, uplift, variants and health. */
export function sequenceSection(s: SequenceReport, i: number, timelines: Set<string>): string {
  const p: Path = ['sequences', i];
  const variantSteps = (s.steps ?? []).map((st, j) => [st, j] as const).filter(([st]) => st.variants?.length > 0);
  return (
    `<section class="sequence" id="${esc(domId('seq', s.sequenceId))}"><h2>${esc(s.name ?? s.sequenceId)} <span class="small muted">${esc(s.sequenceId)}</span></h2>` +
    `<div class="grid"><div><h3>Funnel per step</h3><div class="chart"><canvas id="${esc(domId('funnel', s.sequenceId))}"></canvas></div></div>` +
    `<div><h3>Uplift against the holdout</h3>${upliftBlock(s, p)}</div></div>${stepsTable(s, p)}${breakdowns(s, p)}` +
    `<h3>Deliverability health</h3>${healthBlock(s, p)}` +
    `<h3>Variants over time</h3>` +
    (variantSteps.length
      ? variantSteps
          .map(([st, j]) => variantsBlock(s, st, j, p, timelines.has(`${s.sequenceId}\u0000${st.stepId}`)))
          .join('')
      : `<p class="muted">This sequence has no A/B variants.</p>`) +
    `</section>`
  );
}

/** The most recent customers who came back (names escaped: they are customer data). */
export function returnedTable(list: ReturnedCustomer[] | undefined): string {
  if (!has(list)) return `<p class="muted">The report does not list returned customers.</p>`;
  if (!list!.length) return `<p class="muted">Nobody has come back yet.</p>`;
  const rows = list!.map((r, i) => {
    const p: Path = ['recentlyReturned', i];
    const credited = r.stepId ? `${r.stepId}${r.variantId ? ` / ${r.variantId}` : ''}` : '—';
    return (
      `<tr><td class="customer">${esc(r.firstName ?? '—')}</td><td class="small">${esc(r.externalId)}</td><td>${esc(r.sequenceId)}</td><td>${esc(credited)}</td><td>${esc(r.attributedBy)}</td>` +
      `<td>${esc(r.convertedAt.slice(0, 16).replace('T', ' '))}</td><td>${metric(`returned.${i}.revenueMinor`, [...p, 'revenueMinor'], r.revenueMinor, 'money', r.currency)}</td>` +
      `<td>${metric(`returned.${i}.netRevenueMinor`, [...p, 'netRevenueMinor'], r.netRevenueMinor, 'money', r.currency)}</td></tr>`
    );
  });
  return (
    `<div class="table"><table class="returned"><thead><tr><th>Customer</th><th>Id</th><th>Sequence</th><th>Credited step / variant</th><th>Attributed by</th><th>When (UTC)</th><th>Revenue</th><th>Net revenue</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>`
  );
}
