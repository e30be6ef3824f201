import { createRequire } from 'node:module';
import { join } from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

// The layer order and the rules live in one place: .dependency-cruiser.cjs at the repository root.
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as IConfiguration;

describe('architecture', () => {
  it('imports point down the layers of src/ and form no cycle', async () => {
    const result = await cruise(
      ['src'],
      { ...config.options, validate: true, ruleSet: { forbidden: config.forbidden } },
      undefined,
      { tsConfig: extractTSConfig('tsconfig.json') },
    );
    const output = result.output as ICruiseResult;
    const violations = output.summary.violations.map(
      (v) =>
        `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(' → ')})` : ''}`,
    );
    expect(violations).toEqual([]);
    // The check saw the source tree, not an empty one.
    expect(output.summary.totalCruised).toBeGreaterThan(250);
  });

  it('refuses an upward import, a cycle and a module outside every layer', async () => {
    const baseDir = join(import.meta.dirname, '../fixtures/layers-broken');
    const { tsConfig: _ts, ...options } = config.options ?? {};
    const result = await cruise(['src'], {
      ...options,
      baseDir,
      validate: true,
      ruleSet: { forbidden: config.forbidden },
    });
    const output = result.output as ICruiseResult;
    const found = output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    expect(found).toContain('layer-config+db: src/config/probe.ts → src/engine/probe.ts');
    expect(found).toContain('layer-unassigned: src/elsewhere/orphan.ts → src/util/a.ts');
    // The cycle is reported at the edge where the cruiser closes it (either one).
    expect(found.filter((f) => f.startsWith('no-circular: src/util/'))).toHaveLength(1);
    expect(found).toHaveLength(3);
  });
});
