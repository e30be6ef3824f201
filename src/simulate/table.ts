import { formatTable } from '../util/table.js';
import type { Assumptions } from './assumptions.js';
import type { DayRow, SimulationResult } from './run.js';

const pct = (x: number) => `${+(x * 100).toFixed(2)}%`;

/** The assumptions in one paragraph, printed above the table. */
export function describeAssumptions(a: Assumptions): string {
  return [
    `opens ${pct(a.firstOpen)} of first mails and ${pct(a.laterOpen)} of later ones (human; machine opens never count)`,
    `clicks ${pct(a.clickGivenOpen)} of opens, purchases ${pct(a.purchaseGivenClick)} of clicks within 3 days`,
    `baseline purchase ${pct(a.dailyBaselinePurchase)} per customer and day (mailed and holdout)`,
    `survey answers ${pct(a.surveyGivenOpen)} of opened survey mails, unsubscribes ${pct(a.unsubscribeGivenOpen)} of opens`,
    `a purchase is ${a.amountRatio[0]}–${a.amountRatio[1]} × the former average order, ${pct(a.newCategory)} in a new category`,
  ].join('; ');
}

/** The day-by-day table with a total line; step columns count mails sent. */
export function simulationTable(r: SimulationResult): string {
  const headers = [
    'day',
    'date',
    'entered',
    'holdout',
    'control',
    ...r.steps.map((s) => `sent ${s}`),
    'skip unless',
    'skip only_if',
    'wait window',
    'wait cap',
    'preference',
    'no consent',
    'exited',
    'goal',
    'goal holdout',
  ];
  const line = (d: DayRow): (string | number)[] => [
    d.day,
    d.date,
    d.entered,
    d.holdout,
    d.control,
    ...r.steps.map((s) => d.sent[s] ?? 0),
    d.unless,
    d.onlyIf,
    d.window,
    d.cap,
    d.preference,
    d.consent,
    d.exited,
    d.goal,
    d.holdoutGoal,
  ];
  const total = r.rows.reduce<(string | number)[]>(
    (acc, d) => line(d).map((v, i) => (i < 2 ? acc[i]! : Number(acc[i] ?? 0) + Number(v))),
    ['total', ''],
  );
  return formatTable(headers, [...r.rows.map(line), total]);
}
