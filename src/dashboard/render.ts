import type { StatsReport } from '../metrics/report.js';
import { preferencesSection } from './preferences.js';
import { esc } from '../server/pages.js';
import { backtestChart, backtestSection, type BacktestView } from './backtest.js';
import { allocationChart, funnelChart, upliftChart, variantTimelineChart, type ChartSpec } from './charts.js';
import { jsonForScript } from './format.js';
import { pathsSection, programmeSection } from './programme.js';
import { overview, returnedTable, sequenceSection } from './sections.js';
import type { VariantTimeline } from './timeline.js';

/** What the page shows besides the report itself. */
export interface PageInput {
  report: StatsReport;
  timelines: VariantTimeline[];
  /** All sequence ids, for the filter (the report may hold only one). */
  sequenceIds: string[];
  /** The filter as requested. */
  filter: { sequence?: string; since?: string };
  /** Where the assets and the API live (`/dashboard`). */
  base: string;
  /** What needs an operator (a paused sender, uncertain mails), shown above everything. */
  notices?: string[];
  /** The return scores' backtest of the last scoring run (undefined: the section is left out). */
  backtest?: BacktestView;
  /** The operator console: who is looking (`bar`, in the header), the actions (`top`) and the log (`bottom`). */
  console?: { bar: string; top: string; bottom: string };
}

const STYLE = `
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2933;background:#f5f7fa;font-size:14px}
header{background:#1f3a5f;color:#fff;padding:.8rem 1.5rem;display:flex;flex-wrap:wrap;align-items:center;gap:1rem}
header h1{font-size:1.2rem;margin:0;flex:1}header a{color:#fff}header form{display:flex;gap:.5rem;align-items:center}
header input,header select,header button{font:inherit;padding:.25rem .5rem;border-radius:3px;border:1px solid #ccd}
main{padding:1rem 1.5rem;max-width:1400px;margin:0 auto}section{background:#fff;border-radius:6px;padding:1rem 1.2rem;margin:0 0 1rem;box-shadow:0 1px 2px #0001}
h2{font-size:1.15rem;margin:.2rem 0 .8rem}h3{font-size:1rem;margin:1rem 0 .4rem}h4{margin:.8rem 0 .3rem}
.table{overflow-x:auto}table{border-collapse:collapse;width:100%;margin:.3rem 0 .8rem}.metric{white-space:nowrap}th,td{padding:.3rem .5rem;border-bottom:1px solid #e4e7eb;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{font-weight:600;color:#52606d;font-size:.85rem}
.grid{display:grid;grid-template-columns:minmax(0,1.2fr) minmax(0,1fr);gap:1.5rem}.charts{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.chart{position:relative;height:240px}.chart.short{height:120px}.small{font-size:.8rem}.muted{color:#7b8794}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:9px;font-size:.8rem;font-weight:600}
.badge-ok{background:#e3f9e5;color:#207227}.badge-warn{background:#fffbea;color:#8d2b0b}.badge-pause{background:#ffe3e3;color:#a61b1b}
.left th,table.left td{text-align:left}.notice{background:#fffbea;padding:.4rem .6rem;border-left:3px solid #f0b429}dl.uplift{display:grid;grid-template-columns:auto 1fr;gap:.2rem 1rem}dt{color:#52606d}dd{margin:0}
@media (max-width:900px){.grid,.charts{grid-template-columns:1fr}}`;

/** The chart specs for the whole page, in the order the canvases appear. */
function charts(input: PageInput): ChartSpec[] {
  const out: ChartSpec[] = [];
  for (const s of input.report.sequences) {
    if (s.steps?.length) out.push(funnelChart(s));
    const u = s.uplift ? upliftChart(s.sequenceId, s.uplift) : null;
    if (u) out.push(u);
    for (const st of s.steps ?? []) {
      if (!st.variants?.length) continue;
      out.push(allocationChart(s, st));
      const t = input.timelines.find((x) => x.sequenceId === s.sequenceId && x.stepId === st.stepId);
      if (t) out.push(variantTimelineChart(t));
    }
  }
  const b = input.backtest === undefined ? null : backtestChart(input.backtest);
  if (b) out.push(b);
  return out;
}

/**
 * The dashboard page, rendered on the server: every number is in the HTML (with `data-metric`),
 * the charts are drawn by a small script from a JSON block. Customer data is escaped; the page
 * runs no inline script (the CSP allows scripts from the server only).
 */
export function renderPage(input: PageInput): string {
  const { report, filter, base } = input;
  const timelineKeys = new Set(input.timelines.map((t) => `${t.sequenceId}\u0000${t.stepId}`));
  const options = [
    '<option value="">all sequences</option>',
    ...input.sequenceIds.map(
      (id) => `<option value="${esc(id)}"${id === filter.sequence ? ' selected' : ''}>${esc(id)}</option>`,
    ),
  ];
  const apiQuery = new URLSearchParams();
  if (filter.sequence) apiQuery.set('sequence', filter.sequence);
  if (filter.since) apiQuery.set('since', filter.since);
  const q = apiQuery.toString();
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">` +
    `<link rel="icon" href="data:,"><title>Comeback dashboard</title><style>${STYLE}</style></head><body>` +
    `<header><h1>Comeback · win-back dashboard</h1>` +
    `<form method="get" action="${esc(base)}"><select name="sequence" aria-label="sequence">${options.join('')}</select>` +
    `<label>enrolled since <input type="date" name="since" value="${esc(filter.since ?? '')}"></label><button type="submit">Show</button></form>` +
    `<span class="small">generated <time data-generated="${esc(report.generatedAt)}">${esc(report.generatedAt.slice(0, 16).replace('T', ' '))} UTC</time>` +
    `${report.since ? ` · enrolments since ${esc(report.since.slice(0, 10))}` : ''} · <a href="${esc(base)}/api/stats${q ? `?${esc(q)}` : ''}">JSON</a></span>${input.console?.bar ?? ''}</header><main>` +
    (input.notices?.length
      ? `<section class="notice" role="alert">${input.notices.map((n) => `<p>${esc(n)}</p>`).join('')}</section>`
      : '') +
    (input.console?.top ?? '') +
    `<section><h2>Sequences</h2>${overview(report.sequences)}</section>` +
    report.sequences.map((s, i) => sequenceSection(s, i, timelineKeys)).join('') +
    report.sequences.map((s, i) => pathsSection(s, i)).join('') +
    programmeSection(report.programme, report.sequences[0]?.currency ?? 'EUR') +
    `<section><h2>Recently returned customers</h2>${returnedTable(report.recentlyReturned)}</section>` +
    preferencesSection(report.preferences) +
    (input.backtest === undefined ? '' : backtestSection(input.backtest)) +
    (input.console?.bottom ?? '') +
    `</main><script type="application/json" id="dashboard-charts">${jsonForScript(charts(input))}</script>` +
    `<script src="${esc(base)}/assets/chart.umd.min.js"></script><script src="${esc(base)}/assets/dashboard.js"></script></body></html>`
  );
}
