/**
 * The dashboard's backtest section: how well each return score of the last scoring run predicted
 * who bought again (AUC, calibration gap, flagged who came back anyway), the calibration of the
 * chosen `p_return` by decile as a table and a chart. Figures from `score_runs.return_backtest`.
 */
import { SIGNALS, type ReturnBacktestSummary, type SignalName } from '../dormancy/index.js';
import { esc } from '../server/pages.js';
import type { ChartSpec } from './charts.js';

/** What the section shows: the stored summary, why there is none, or nothing scored yet. */
export type BacktestView = ReturnBacktestSummary | { reason: string } | null;

const LABELS: Record<SignalName, string> = {
  recency: 'recency (days since the last order)',
  rhythm: 'rhythm (overdue ratio)',
  bg_p_alive: 'BG/NBD P(alive)',
  bg_expected: 'BG/NBD E[Y]',
  bg_p_buy: 'BG/NBD P(buys in the horizon)',
  regularity: 'regularity (gamma intervals)',
  combined: 'calibrated combination',
};

const pct = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '—');
const num = (x: number | undefined, d = 3) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : '—');

/** The section's HTML. */
export function backtestSection(view: BacktestView): string {
  const head = '<section id="backtest"><h2>Who comes back on their own: the return scores, backtested</h2>';
  if (!view) return `${head}<p class="muted">No scoring run yet: run <code>comeback score</code>.</p></section>`;
  if ('reason' in view) return `${head}<p class="muted">${esc(view.reason)}</p></section>`;
  const rows = SIGNALS.filter((s) => view.auc[s] !== undefined).map(
    (s) =>
      `<tr${s === view.method ? ' class="winner"' : ''}><td>${esc(LABELS[s])}${s === view.method ? ' <span class="badge badge-ok">p_return</span>' : ''}</td>` +
      `<td data-backtest="${s}.auc">${num(view.auc[s])}</td><td>${num(view.maxCalibrationGapPp[s], 1)} pp</td><td>${pct(view.flaggedCameBack[s])}</td></tr>`,
  );
  const deciles = view.deciles[view.method] ?? [];
  const decileRows = deciles.map(
    (d, i) =>
      `<tr><td>${i + 1}</td><td>${d.n}</td><td>${pct(d.predicted)}</td><td>${pct(d.actual)}</td><td>${num(d.expectedPurchases, 2)}</td><td>${num(d.actualPurchases, 2)}</td></tr>`,
  );
  return (
    head +
    `<p class="small">Fitted up to ${esc(view.cutoff)} (calibrated one horizon earlier), judged on the next ${view.horizonDays} days: ${view.customers.toLocaleString('en')} customers, ${pct(view.returnedShare)} bought again. ` +
    `<code>p_return</code> comes from the score with the highest AUC. Details: <code>comeback score --backtest</code>.</p>` +
    `<div class="grid"><div class="table"><table class="backtest"><thead><tr><th>Score</th><th>AUC</th><th>Largest calibration gap</th><th>Flagged who came back anyway</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    `<h3>Calibration of p_return by decile</h3><table class="deciles"><thead><tr><th>Decile</th><th>Customers</th><th>Predicted</th><th>Bought again</th><th>Expected purchases (BG/NBD)</th><th>Purchases</th></tr></thead><tbody>${decileRows.join('')}</tbody></table></div>` +
    `<div class="chart"><canvas id="backtest-calibration" aria-label="calibration of p_return"></canvas></div></div>` +
    (view.notes.length ? `<p class="small muted">${view.notes.map(esc).join('; ')}</p>` : '') +
    `</section>`
  );
}

/** Predicted against actual repurchase per decile, with the diagonal of perfect calibration. */
export function backtestChart(view: BacktestView): ChartSpec | null {
  if (!view || 'reason' in view) return null;
  const d = view.deciles[view.method] ?? [];
  const pts = d.map((x) => ({ x: Math.round(x.predicted * 1000) / 10, y: Math.round(x.actual * 1000) / 10 }));
  const max = Math.max(10, ...pts.flatMap((p) => [p.x, p.y]));
  return {
    canvas: 'backtest-calibration',
    config: {
      type: 'scatter',
      data: {
        datasets: [
          {
            label: 'deciles: predicted vs bought again (%)',
            data: pts,
            backgroundColor: '#3e7cb1',
            pointRadius: 5,
            showLine: true,
            borderColor: '#3e7cb1',
          },
          {
            label: 'perfect calibration',
            data: [
              { x: 0, y: 0 },
              { x: max, y: max },
            ],
            showLine: true,
            pointRadius: 0,
            borderColor: '#bc4b51',
            borderDash: [4, 4],
          },
        ],
      },
      options: {
        plugins: { title: { display: true, text: `Calibration of p_return (${LABELS[view.method]})` } },
        scales: {
          x: { title: { display: true, text: 'predicted %' }, min: 0 },
          y: { title: { display: true, text: 'bought again %' }, min: 0 },
        },
      },
    },
  };
}
