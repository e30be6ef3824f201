import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { dashboardPlugin } from '../../src/dashboard/index.js';
import { loadSyntheticShop } from '../../src/dormancy/synthetic-load.js';
import { latestRun, type ReturnBacktestSummary } from '../../src/dormancy/index.js';
import { createEngine, DAY } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { buildServer, listen } from '../../src/server/index.js';

const TOKEN = 'backtest-dashboard-token-0123456789';

it("the dashboard shows the last scoring run's backtest: every AUC as stored, the decile table and the calibration chart", async () => {
  const db = join(mkdtempSync(join(tmpdir(), 'comeback-bt-dash-')), 'shop.db');
  const now = Date.UTC(2026, 5, 1);
  const engine = await createEngine(
    { database: db, sequencesDir: 'none', dashboard: { token: TOKEN } },
    { transport: new MemoryTransport() },
  );
  const app = await buildServer({ engine, plugins: [dashboardPlugin()] });
  try {
    const { url } = await listen(app, { host: '127.0.0.1', port: 0 });
    const before = await (await fetch(`${url}/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(before).toContain('No scoring run yet: run <code>comeback score</code>.');

    await loadSyntheticShop(engine.ctx.db, { seed: 11, customers: 1500, now: now - DAY });
    await engine.score({ now });
    const stored = JSON.parse((await latestRun(engine.ctx))!.return_backtest!) as ReturnBacktestSummary;
    const html = await (await fetch(`${url}/dashboard`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(html).toContain('<section id="backtest">');
    for (const [s, a] of Object.entries(stored.auc))
      expect(html).toContain(`<td data-backtest="${s}.auc">${a!.toFixed(3)}</td>`);
    expect(html).toMatch(/<table class="deciles">.*(<tr><td>\d+<\/td>.*){10}/s);
    const charts = JSON.parse(
      /<script type="application\/json" id="dashboard-charts">(.*?)<\/script>/s.exec(html)![1]!,
    ) as { canvas: string; config: { data: { datasets: { data: unknown[] }[] } } }[];
    const chart = charts.find((c) => c.canvas === 'backtest-calibration')!;
    expect(chart.config.data.datasets[0]!.data).toHaveLength(10);
    expect(html).toContain('id="backtest-calibration"');
  } finally {
    await app.close();
    await engine.close();
  }
}, 60_000);
