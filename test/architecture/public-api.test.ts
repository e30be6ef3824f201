/**
 * The published surface: a small consumer program (test/fixtures/consumer/) is compiled against the
 * built type declarations, importing `comeback`, `comeback/server`, `comeback/dashboard`,
 * `comeback/models` and `comeback/testing` by name; the root leaves internals out.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import * as root from '../../src/index.js';
import { ensureBuilt, ROOT } from '../worker/fixture.js';

beforeAll(ensureBuilt, 180_000);

describe('public API', () => {
  it('a consumer compiles against the declarations of every entry, and cannot reach the internals', () => {
    const config = join(ROOT, 'test/fixtures/consumer/tsconfig.json');
    const parsed = ts.getParsedCommandLineOfConfigFile(
      config,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    if (!parsed) throw new Error(`${config}: not readable`);
    const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const file = d.file ? `${d.file.fileName.replace(`${ROOT}/`, '')}:${(where?.line ?? 0) + 1}` : '';
      return `${file} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems).toEqual([]);
    // The declarations came from dist/ through package.json "exports", not from src/.
    const files = program.getSourceFiles().map((f) => f.fileName);
    expect(files).toContain(join(ROOT, 'dist/src/index.d.ts'));
    expect(files.some((f) => f.startsWith(join(ROOT, 'src/')))).toBe(false);
  }, 180_000);

  it('the root exports the engine, its types and errors; test helpers, server and models have entries of their own', () => {
    const names = Object.keys(root);
    expect(names).toContain('createEngine');
    expect(names).toContain('ComebackError');
    for (const moved of [
      'ManualClock',
      'MemoryTransport',
      'buildServer',
      'dashboardPlugin',
      'fitBgNbd',
      'Engine',
      'TokenSigner',
    ]) {
      expect(names, moved).not.toContain(moved);
    }
  });
});
