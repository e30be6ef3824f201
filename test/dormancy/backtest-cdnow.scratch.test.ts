import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { backtest, type DayHistory } from '../../src/dormancy/backtest.js';
it('cdnow', () => {
const lines = readFileSync('test/dormancy/fixtures/CDNOW_sample.txt', 'utf8').trim().split('\n');
const by = new Map<number, Set<number>>();
for (const l of lines) { const [, id, d] = l.trim().split(/\s+/); const t = Date.UTC(+d!.slice(0,4), +d!.slice(4,6)-1, +d!.slice(6,8)) / 864e5; (by.get(+id!) ?? by.set(+id!, new Set()).get(+id!)!).add(t); }
const hs: DayHistory[] = [...by].map(([id, s]) => ({ id, days: Int32Array.from([...s].sort((a,b)=>a-b)) }));
const end = Date.UTC(1998, 5, 30) / 864e5;
for (const H of [90, 180]) {
const t0 = performance.now();
const r = backtest(hs, { endDay: end, horizon: H });
console.log(H, (performance.now()-t0).toFixed(0),'ms', r.winner, JSON.stringify(r.meanAuc));
for (const o of r.origins) console.log(new Date(o.cutoffDay*864e5).toISOString().slice(0,10), o.customers, o.returnedShare.toFixed(3), '\n'+Object.entries(o.signals).map(([k, v]) => `${k} auc=${v!.auc.toFixed(3)} rep=${v!.aucRepeat.toFixed(3)} gap=${v!.maxCalibrationGapPp.toFixed(1)} fcb=${v!.flaggedCameBack.toFixed(3)} fl=${v!.flagged}`).join('\n'), o.notes);
}
}, 120000);
