import type { Command } from 'commander';
import { describeChoice, describePreferences, foldPreferences } from '../../consent/preferences.js';
import { customerReport, type CustomerReport } from '../../dormancy/index.js';
import { PARK_OFFSET } from '../../engine/sequence-state.js';
import { formatMoney } from '../../util/money.js';
import { formatTable } from '../../util/table.js';
import { withEngine } from '../context.js';

const date = (t: number | null | undefined) =>
  t === null || t === undefined ? '—' : new Date(t).toISOString().slice(0, 10);
const time = (t: number | null | undefined) =>
  t === null || t === undefined ? '—' : new Date(t).toISOString().slice(0, 16).replace('T', ' ');
const num = (x: number | null, digits = 2) => (x === null ? '—' : x.toFixed(digits));
/** A due time, or the planned time of work parked by a paused sequence. */
const due = (t: number | null) => (t !== null && t >= PARK_OFFSET ? `paused (${time(t - PARK_OFFSET)})` : time(t));

/** Renders a customer report as text: rhythm, model, exclusions, consent, enrolments, messages. */
export function formatCustomerReport(r: CustomerReport, currency: string, locale = 'en'): string {
  const money = (m: number | null | undefined) =>
    m === null || m === undefined ? '—' : formatMoney(m, currency, locale);
  const c = r.customer;
  const s = r.score;
  const out: string[] = [];
  const name = [c.first_name, c.last_name].filter(Boolean).join(' ');
  out.push(
    `customer ${c.id} (${c.external_id})${name ? ` ${name}` : ''} <${c.email ?? 'no address'}> locale ${c.locale}${c.erased_at ? ` ERASED ${date(c.erased_at)}` : ''}`,
  );
  out.push(
    `acquired via ${c.acquired_via}; churn reason ${c.churn_reason ?? 'unknown'}${c.churn_reason_source ? ` (${c.churn_reason_source})` : ''}; tags ${(JSON.parse(c.tags) as string[]).join(', ') || '—'}`,
  );
  out.push('');
  if (!s) {
    out.push(`not scored yet: run \`comeback score\` (${r.orders.count} orders on record)`);
  } else {
    out.push(`purchase rhythm (scored ${time(s.scored_at)}, run ${s.run_id})`);
    out.push(`  status              ${r.status}${s.early_warning ? ' — early warning' : ''}`);
    out.push(`  orders              ${s.orders_count}, first ${date(s.first_order_at)}, last ${date(s.last_order_at)}`);
    out.push(`  usual interval      ${num(s.median_interval_days, 1)} days (${s.interval_source ?? '—'})`);
    out.push(`  since last order    ${s.days_since_last_order ?? '—'} days, overdue ratio ${num(s.overdue_ratio)}`);
    out.push(
      `  RFM                 ${s.rfm ?? '—'} (recency ${s.r_score ?? '—'}, frequency ${s.f_score ?? '—'}, monetary ${s.m_score ?? '—'})`,
    );
    out.push(`  spent               ${money(s.total_spent_minor)}, average order ${money(s.avg_order_minor)}`);
    out.push('purchase model');
    out.push(
      `  P(alive)            ${num(s.p_alive, 3)}  (frequency ${s.frequency}, recency ${s.recency} d, T ${s.t} d)`,
    );
    out.push(
      `  next 90 days        ${num(s.expected_purchases_90d)} expected purchases of ${money(s.expected_spend_minor)}`,
    );
    if (s.p_return !== undefined)
      out.push(
        `  buys again alone    ${s.p_return === null ? '—' : `${(100 * s.p_return).toFixed(1)} %`} (p_return${r.run?.return_method ? `, by ${r.run.return_method}` : ''})`,
      );
    out.push(
      `  expected value      ${money(s.expected_value_minor)} against a recovery cost of ${money(s.recovery_cost_minor)}`,
    );
    out.push(
      `  worth winning back  ${s.worth_winning_back ? 'yes' : 'no'}${r.exclusions.length ? ` (excluded: ${r.exclusions.join(', ')})` : ''}`,
    );
    if (r.run?.model_note) out.push(`  note                ${r.run.model_note}`);
    out.push('exclusion signals');
    out.push(
      `  discount share ${(100 * s.discount_share).toFixed(0)} %, return rate ${(100 * s.return_rate).toFixed(0)} %, late payments ${s.late_payments}, objected ${s.objected ? 'yes' : 'no'}`,
    );
  }
  out.push('');
  const bases = r.consent.active.map((b) => `${b.basis} since ${date(b.grantedAt)} (#${b.consentId})`).join(', ');
  out.push(
    `consent: ${bases || 'no basis in force'}${r.consent.objected ? `; OBJECTED ${date(r.consent.objectedAt)}` : ''}`,
  );
  const prefs = foldPreferences(
    r.consentHistory.map((h) => ({
      id: h.id,
      action: h.action,
      evidence: JSON.stringify(h.evidence),
      recorded_at: h.recordedAt,
    })),
  );
  out.push(`preferences: ${describePreferences(prefs)}`);
  for (const h of r.consentHistory.slice(-5)) {
    out.push(
      `  ${time(h.recordedAt)}  ${h.action} ${h.action === 'preference' ? describeChoice(h.evidence) : (h.basis ?? 'all')} via ${h.source}`,
    );
  }
  for (const x of r.suppressions)
    out.push(
      `SUPPRESSED ${x.scope === 'all' ? 'for all mail' : `for ${x.scope}`}: ${x.reason.replace('_', ' ')} ${time(x.created_at)}`,
    );
  out.push('');
  if (r.enrollments.length === 0) out.push('enrolments: none');
  else {
    out.push('enrolments');
    out.push(
      formatTable(
        ['id', 'sequence', 'status', 'step', 'holdout', 'enrolled', 'next due', 'basis', 'exit'],
        r.enrollments.map((e) => [
          e.id,
          `${e.sequence_id} v${e.sequence_version}`,
          e.status,
          e.current_step,
          e.holdout ? 'yes' : 'no',
          time(e.enrolled_at),
          due(e.next_due_at),
          e.legal_basis ?? '—',
          e.exit_reason ?? '—',
        ]),
      ),
    );
  }
  out.push('');
  if (r.messages.length === 0) out.push('messages: none');
  else {
    out.push('messages');
    out.push(
      formatTable(
        ['id', 'sequence', 'step', 'variant', 'status', 'sent', 'basis', 'subject'],
        r.messages.map((m) => [
          m.id,
          m.sequence_id,
          m.step_id,
          m.variant_id ?? '—',
          m.status,
          time(m.sent_at),
          m.legal_basis ?? '—',
          m.subject ?? '—',
        ]),
      ),
    );
  }
  if (r.orders.lastOrders.length > 0) {
    out.push('');
    out.push(`last orders (${r.orders.count} in all)`);
    out.push(
      formatTable(
        ['order', 'date', 'total', 'discount', 'returned', 'status'],
        r.orders.lastOrders.map((o) => [
          o.external_id,
          date(o.ordered_at),
          formatMoney(o.total_minor, o.currency, locale),
          formatMoney(o.discount_minor, o.currency, locale),
          formatMoney(o.returned_minor, o.currency, locale),
          o.status,
        ]),
      ),
    );
  }
  return out.join('\n');
}

/** `comeback customer ID [--json]` */
export function register(program: Command): void {
  program
    .command('customer')
    .description(
      'one customer: purchase rhythm, P(alive), expected purchases and value, exclusion signals, consent, enrolments and messages',
    )
    .argument('<id>', "internal id or the shop's customer id")
    .option('--json', 'print JSON for scripts')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const report = await customerReport(engine.ctx, id);
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(report, null, 2)}\n`
            : `${formatCustomerReport(report, engine.ctx.config.defaults.currency, engine.ctx.config.defaults.locale)}\n`,
        );
      });
    });
}
