/**
 * The success report of every sequence: funnels (per sequence, version, step, variant, churn
 * reason), uplift against the holdout, the variant bandit's posteriors and allocation,
 * deliverability health and recently returned customers. `comeback stats --json` prints it and
 * the dashboard renders it; the types (with every field explained) are in `types.ts`.
 */
import type { Kysely } from 'kysely';
import type { ControlGroupConfig, GuardConfig } from '../config/schema.js';
import type { Database } from '../db/schema.js';
import type { Sequence } from '../sequences/schema.js';
import { sequencePaths } from '../sequences/paths.js';
import { deliverabilityReport, deliveryRows, windowStart, type DeliveryRow } from './deliverability.js';
import { addFunnel, emptyFunnel, finishFunnel, type FunnelSums } from './funnel.js';
import {
  conversionCurrencies,
  creditedConversions,
  enrollmentCounts,
  messageCounts,
  stepConversions,
  type CreditedRow,
  type EnrollmentRow,
  type MessageRow,
  type StepConversionRow,
} from './queries.js';
import { preferenceReport } from './preferences.js';
import { pathExperimentReport } from './cohorts.js';
import { programmeReport } from './programme.js';
import { recentlyReturned } from './returned.js';
import { upliftReport } from './uplift-report.js';
import { armRows, decideStep, optimizeMetric, stepOptions, variantSteps, type ArmRow } from './variants.js';
import type { SequenceReport, StatsReport, StatsReportOptions, StepReport, VariantReport } from './types.js';

export type * from './types.js';

/** The sequence definitions the report reads: the current files and stored versions. */
export interface ReportSequences {
  /** Ids of the sequences loaded from files. */
  ids(): string[];
  /** The current definition of a loaded sequence. */
  get(id: string): Sequence;
  /** A stored version (rejects when it cannot be read). */
  version(id: string, version: number): Promise<Sequence>;
  /** Whether the sequence runs or is paused, and why. */
  status(id: string): Promise<{ status: string; reason: string | null }>;
}

/** What the report reads besides its options; the engine fills it (`engine.report()`). */
export interface ReportSource {
  k: Kysely<Database>;
  /** Engine time now (epoch ms). */
  now: number;
  /** The guard's window and thresholds (deliverability and variant allocation). */
  guard: GuardConfig;
  /** The currency of a sequence without conversions. */
  currency: string;
  /** When the guard started counting for each resumed sequence (epoch ms). */
  guardSince: Map<string, number>;
  /** The global control group the programme is measured against. */
  controlGroup: ControlGroupConfig;
  sequences: ReportSequences;
}

/** Everything the queries returned, shared by the per-sequence assembly. */
interface Data {
  messages: MessageRow[];
  enrollments: EnrollmentRow[];
  stepConv: StepConversionRow[];
  credited: CreditedRow[];
  arms: ArmRow[];
  delivery: DeliveryRow[];
  currencies: Map<string, string>;
  windowStart: number;
  guardSince: Map<string, number>;
  definitions: Map<string, Sequence | undefined>;
  since?: number;
}

/**
 * Builds the report for one sequence or all (current files plus any with enrolments); the caller
 * checks that a requested sequence exists. A handful
 * of grouped queries regardless of the number of customers; everything else is arithmetic.
 */
export async function buildStatsReport(src: ReportSource, options: StatsReportOptions = {}): Promise<StatsReport> {
  const now = src.now;
  const since =
    options.since === undefined
      ? undefined
      : typeof options.since === 'number'
        ? options.since
        : options.since.getTime();
  const f = { sequence: options.sequence, since };
  const start = windowStart(now, src.guard);
  const enrollments = await enrollmentCounts(src.k, f);
  const ids = [
    ...new Set<string>(
      options.sequence !== undefined
        ? [options.sequence]
        : [...src.sequences.ids(), ...enrollments.map((e) => e.sequence_id)],
    ),
  ].sort();
  const definitions = new Map<string, Sequence | undefined>();
  for (const id of ids) definitions.set(id, await definition(src, id));
  const [messages, stepConv, credited, arms, delivery, currencies] = [
    await messageCounts(src.k, f),
    await stepConversions(src.k, f),
    await creditedConversions(src.k, f),
    await armRows(src.k, variantSteps([...definitions.values()].filter((d): d is Sequence => d !== undefined))),
    await deliveryRows(src.k, start, options.sequence),
    await conversionCurrencies(src.k, f),
  ];
  const data: Data = {
    messages,
    enrollments,
    stepConv,
    credited,
    arms,
    delivery,
    currencies,
    windowStart: start,
    guardSince: src.guardSince,
    definitions,
    since,
  };
  const sequences: SequenceReport[] = [];
  for (const id of ids) sequences.push(await sequenceReport(src, id, data));
  return {
    generatedAt: new Date(now).toISOString(),
    since: since === undefined ? null : new Date(since).toISOString(),
    sequences,
    recentlyReturned: await recentlyReturned(src.k, f, 20),
    preferences: await preferenceReport(src.k, now, f),
    programme: await programmeReport(src.k, {
      since,
      now,
      currency: src.currency,
      ...src.controlGroup,
      controlShare: src.controlGroup.share,
    }),
  };
}

/** The current file's definition, else the latest stored version (a sequence whose file is gone). */
async function definition(src: ReportSource, id: string): Promise<Sequence | undefined> {
  if (src.sequences.ids().includes(id)) return src.sequences.get(id);
  const latest = await src.k
    .selectFrom('sequences')
    .select('version')
    .where('id', '=', id)
    .orderBy('version', 'desc')
    .executeTakeFirst();
  return latest ? src.sequences.version(id, latest.version).catch(() => undefined) : undefined;
}

async function sequenceReport(src: ReportSource, id: string, d: Data): Promise<SequenceReport> {
  const enr = d.enrollments.filter((r) => r.sequence_id === id);
  const msgs = d.messages.filter((r) => r.sequence_id === id);
  const conv = d.stepConv.filter((r) => r.sequence_id === id);
  const seq = d.definitions.get(id);
  const status = await src.sequences.status(id);
  const metric = seq ? optimizeMetric(seq) : 'conversion';

  // Sequence, version and churn-reason funnels: enrolments and their conversions plus messages.
  const total = emptyFunnel();
  const byVersion = new Map<number, FunnelSums>();
  const byReason = new Map<string, FunnelSums>();
  const at = <K>(m: Map<K, FunnelSums>, key: K) => m.get(key) ?? m.set(key, emptyFunnel()).get(key)!;
  for (const r of enr) {
    for (const target of [total, at(byVersion, r.version), at(byReason, r.churn_reason)]) {
      if (r.holdout) target.holdout += r.enrolled;
      else
        addFunnel(target, {
          enrolled: r.enrolled,
          conversions: r.conversions,
          revenueMinor: r.revenue,
          discountMinor: r.discount,
        });
    }
  }
  for (const m of msgs)
    for (const target of [total, at(byVersion, m.version), at(byReason, m.churn_reason)])
      addFunnel(target, messageSums(m));

  // Step and variant funnels: the step's sends are its enrolments, conversions are those after the send.
  const flat = seq ? sequencePaths(seq).steps : undefined;
  const stepIds = [...new Set([...(flat?.map((s) => s.id) ?? []), ...msgs.map((m) => m.step_id)])];
  const steps: StepReport[] = stepIds.map((stepId) => {
    const index = flat ? flat.findIndex((s) => s.id === stepId) : -1;
    const step = index >= 0 ? flat![index] : undefined;
    const funnelOf = (variant?: string | null) => {
      const sums = emptyFunnel();
      const pick = <T extends { step_id: string; variant_id: string | null }>(rows: T[]) =>
        rows.filter((r) => r.step_id === stepId && (variant === undefined || r.variant_id === variant));
      for (const m of pick(msgs)) addFunnel(sums, { ...messageSums(m), enrolled: m.sent });
      for (const c of pick(conv))
        addFunnel(sums, { conversions: c.conversions, revenueMinor: c.revenue, discountMinor: c.discount });
      return finishFunnel(sums);
    };
    const options = step ? stepOptions(step) : [];
    const variants: VariantReport[] = options.length
      ? decideStep(id, stepId, options, d.arms, metric, src.guard.minExplorationShare).map((s) => ({
          variantId: s.variantId,
          label: s.variantId ?? 'control',
          funnel: funnelOf(s.variantId),
          creditedConversions: d.credited
            .filter((c) => c.sequence_id === id && c.step_id === stepId && c.variant_id === s.variantId)
            .reduce((a, c) => a + c.conversions, 0),
          trials: s.arm.trials,
          successes: s.arm.successes,
          conversionPosterior: s.posterior.conversion,
          netRevenuePerSendPosterior: s.posterior.netRevenuePerSend,
          probabilityBest: s.allocation.probabilityBest,
          allocation: s.allocation.share,
        }))
      : [];
    return { stepId, index: index >= 0 ? index : null, funnel: funnelOf(), variants };
  });

  const currency = d.currencies.get(id) ?? src.currency;
  return {
    sequenceId: id,
    name: seq?.name ?? id,
    version: seq?.version ?? Math.max(0, ...enr.map((r) => r.version)),
    status: status.status,
    pausedReason: status.reason,
    currency,
    optimize: metric,
    active: enr.reduce((s, r) => s + r.active, 0),
    funnel: finishFunnel(total),
    byVersion: [...byVersion]
      .sort((a, b) => a[0] - b[0])
      .map(([version, sums]) => ({ version, ...finishFunnel(sums) })),
    steps,
    byChurnReason: [...byReason]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([churnReason, sums]) => ({ churnReason, ...finishFunnel(sums) })),
    uplift: upliftReport(enr, seq?.holdout ?? 0, currency),
    ...(seq && sequencePaths(seq).cohorts.length > 0
      ? {
          paths: (await pathExperimentReport(src.k, seq, {
            since: d.since,
            currency,
            now: src.now,
            minExplorationShare: src.guard.minExplorationShare,
          }))!,
        }
      : {}),
    deliverability: deliverabilityReport(id, d.delivery, Math.max(d.windowStart, d.guardSince.get(id) ?? 0), src.guard),
  };
}

function messageSums(m: MessageRow): Partial<FunnelSums> {
  return {
    sent: m.sent,
    delivered: m.delivered,
    bounced: m.bounced,
    humanOpens: m.human_opens,
    machineOpens: m.machine_opens,
    humanClicks: m.human_clicks,
    botClicks: m.bot_clicks,
    unsubscribes: m.unsubscribes,
    complaints: m.complaints,
  };
}
