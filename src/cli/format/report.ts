/** Terminal rendering of the success report (`comeback stats`). */
import type { Funnel, SequenceReport, StatsReport, UpliftReport } from '../../metrics/types.js';
import { formatMoney } from '../../util/money.js';
import { formatTable } from '../../util/table.js';

/** A fraction as a percentage with one decimal, or "–". */
export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(digits)}%`;
}

/** Signed percentage points: 0.031 → "+3.1 pp". */
function pp(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} pp`;
}

/** The uplift in one short cell: "+3.1 pp [0.4, 5.8]*" (* = significant), or why there is none. */
export function upliftCell(u: UpliftReport): string {
  if (!u.available || u.absolute === null || !u.absoluteCi95) return u.reason ?? 'n/a';
  const [lo, hi] = u.absoluteCi95;
  return `${pp(u.absolute)} [${(lo * 100).toFixed(1)}, ${(hi * 100).toFixed(1)}]${u.significant ? '*' : ''}`;
}

function funnelCells(f: Funnel, currency: string, locale: string): (string | number)[] {
  return [
    f.sent,
    f.humanOpens,
    f.machineOpens,
    f.humanClicks,
    f.botClicks,
    f.unsubscribes,
    f.complaints,
    f.bounced,
    f.conversions,
    pct(f.rates.conversion),
    formatMoney(f.revenueMinor, currency, locale),
    formatMoney(f.netRevenueMinor, currency, locale),
  ];
}
const FUNNEL_HEADERS = [
  'sent',
  'opens',
  'machine opens',
  'clicks',
  'bot clicks',
  'unsub',
  'complaints',
  'bounced',
  'conv.',
  'conv. rate',
  'revenue',
  'net revenue',
];

/** One line per sequence: status, funnel, uplift, deliverability. */
export function overviewTable(report: StatsReport, locale = 'en'): string {
  return formatTable(
    ['sequence', 'status', 'enrolled', 'holdout', ...FUNNEL_HEADERS, 'uplift (conv.)', 'deliverability'],
    report.sequences.map((s) => [
      s.sequenceId,
      s.status,
      s.funnel.enrolled,
      s.funnel.holdout,
      ...funnelCells(s.funnel, s.currency, locale),
      upliftCell(s.uplift),
      s.deliverability.level,
    ]),
  );
}

/** Steps and variants of one sequence, with posterior and allocation. */
export function stepsTable(s: SequenceReport, locale = 'en'): string {
  const rows: (string | number)[][] = [];
  for (const step of s.steps) {
    rows.push([step.stepId, '', ...funnelCells(step.funnel, s.currency, locale), '', '', '']);
    for (const v of step.variants) {
      const post =
        s.optimize === 'net_revenue' && v.netRevenuePerSendPosterior
          ? v.netRevenuePerSendPosterior
          : v.conversionPosterior;
      const fmt = (x: number) =>
        s.optimize === 'net_revenue' && v.netRevenuePerSendPosterior
          ? formatMoney(Math.round(x), s.currency, locale)
          : pct(x);
      rows.push([
        '',
        v.label,
        ...funnelCells(v.funnel, s.currency, locale),
        `${fmt(post.mean)} [${fmt(post.ci95[0])}, ${fmt(post.ci95[1])}]`,
        pct(v.probabilityBest),
        pct(v.allocation),
      ]);
    }
  }
  return formatTable(
    [
      'step',
      'variant',
      ...FUNNEL_HEADERS,
      s.optimize === 'net_revenue' ? 'net rev./send (posterior)' : 'conv./send (posterior)',
      'P(best)',
      'allocation',
    ],
    rows,
  );
}

/** The per-sequence detail: status, uplift sentences, deliverability, steps, churn reasons. */
export function sequenceDetail(s: SequenceReport, locale = 'en'): string {
  const money = (m: number | null) => (m === null ? '–' : formatMoney(Math.round(m), s.currency, locale));
  const lines = [
    `${s.sequenceId} (v${s.version}, ${s.status}${s.pausedReason ? `: ${s.pausedReason}` : ''}), variants optimised on ${s.optimize === 'net_revenue' ? 'net revenue' : 'conversion'}`,
  ];
  const u = s.uplift;
  if (u.available && u.absoluteCi95) {
    lines.push(
      `  uplift: mailed ${pct(u.mailed.conversionRate)} (${u.mailed.conversions}/${u.mailed.enrolled}) vs holdout ${pct(u.holdout.conversionRate)} (${u.holdout.conversions}/${u.holdout.enrolled}): ${upliftCell(u)} 95% CI${u.significant ? ', significant' : ', not significant'}`,
      `  revenue per enrolee: ${money(u.mailed.revenuePerEnrolledMinor)} vs ${money(u.holdout.revenuePerEnrolledMinor)}; incremental revenue ${money(u.incrementalRevenueMinor)}${u.incrementalRevenueCi95 ? ` [${money(u.incrementalRevenueCi95[0])}, ${money(u.incrementalRevenueCi95[1])}]` : ''}`,
      `  conversion: ${u.verdict ?? '–'}`,
      `  revenue: ${u.revenueVerdict ?? ''}`,
    );
  } else {
    lines.push(
      `  uplift: ${u.reason === 'no holdout' ? 'no holdout group, so no uplift is claimed (set holdout: 10% to measure it)' : (u.reason ?? 'n/a')}`,
    );
  }
  const d = s.deliverability;
  lines.push(
    `  deliverability (${d.windowDays} days): ${d.level}, complaints ${pct(d.complaintRate, 2)}, hard bounces ${pct(d.hardBounceRate, 2)} of ${d.sent} sent: ${d.reasons.join('; ')}`,
  );
  lines.push('', stepsTable(s, locale));
  if (s.byChurnReason.length > 1) {
    lines.push(
      '',
      formatTable(
        ['churn reason', 'enrolled', ...FUNNEL_HEADERS],
        s.byChurnReason.map((r) => [r.churnReason, r.enrolled, ...funnelCells(r, s.currency, locale)]),
      ),
    );
  }
  return lines.join('\n');
}

/** The whole report for a terminal: the overview, then each sequence's detail. */
export function reportText(report: StatsReport, locale = 'en'): string {
  const parts = [
    `${report.since ? `enrolments since ${report.since}` : 'all enrolments'}, as of ${report.generatedAt}`,
    overviewTable(report, locale),
  ];
  for (const s of report.sequences) parts.push(sequenceDetail(s, locale));
  if (report.recentlyReturned.length) {
    parts.push(
      formatTable(
        ['returned', 'customer', 'sequence', 'step', 'variant', 'by', 'revenue', 'net revenue'],
        report.recentlyReturned.map((r) => [
          r.convertedAt.slice(0, 16).replace('T', ' '),
          r.externalId,
          r.sequenceId,
          r.stepId ?? '–',
          r.variantId ?? '–',
          r.attributedBy,
          formatMoney(r.revenueMinor, r.currency, locale),
          formatMoney(r.netRevenueMinor, r.currency, locale),
        ]),
      ),
    );
  }
  const p = report.preferences;
  if (p && p.steps.length) {
    parts.push(
      'kept instead of lost (preference page)\n' +
        formatTable(
          ['sequence', 'step', 'snoozed', 'frequency', 'topic opt-outs', 'unsubscribed'],
          [
            ...p.steps.map((r) => [
              r.sequenceId ?? '(account page, API)',
              r.stepId ?? '–',
              r.snoozes,
              r.frequencyChanges,
              r.topicOptOuts,
              r.unsubscribes,
            ]),
            ['total', '', p.totals.snoozes, p.totals.frequencyChanges, p.totals.topicOptOuts, p.totals.unsubscribes],
          ],
        ) +
        `\nsnoozes ended: ${p.snoozeReturns.ended}, then opened: ${p.snoozeReturns.opened}, then bought: ${p.snoozeReturns.bought}`,
    );
  }
  return parts.join('\n\n');
}
