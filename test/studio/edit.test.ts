/**
 * Edits from the graph keep the file byte for byte except the edit, the flow has one node per
 * element of the YAML, and the studio's file access stays inside sequences/ and templates/.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CST, Parser, parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSequence } from '../../src/sequences/loader.js';
import {
  addStepAfter,
  buildFlow,
  flowNodeCount,
  ProjectFiles,
  setStepWait,
  setVersion,
  StudioError,
  textHash,
} from '../../src/studio/index.js';
import { BYTES } from '../../src/util/limits.js';
import { ROOT } from '../worker/fixture.js';

const SHIPPED = readdirSync(join(ROOT, 'sequences')).filter((f) => f.endsWith('.yaml'));
const read = (f: string) => readFileSync(join(ROOT, 'sequences', f), 'utf8');

/** Lines of `after` that are not in `before` at the same place, allowing one inserted line. */
function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  let j = 0;
  while (j < a.length - i && j < b.length - i && a[a.length - 1 - j] === b[b.length - 1 - j]) j++;
  return { removed: a.slice(i, a.length - j), added: b.slice(i, b.length - j) };
}

describe('edits through the CST', () => {
  it('round-trips every shipped sequence byte for byte without an edit', () => {
    for (const f of SHIPPED)
      expect([...new Parser().parse(read(f))].map((t) => CST.stringify(t)).join(''), f).toBe(read(f));
  });

  it.each(SHIPPED)('changes each wait of %s in exactly one line (or adds one line), nothing else', (f) => {
    const text = read(f);
    const seq = parse(text);
    seq.steps.forEach((step: { wait?: string; id: string }, i: number) => {
      const edited = setStepWait(text, i, '11d');
      const d = lineDiff(text, edited);
      if (step.wait) {
        expect(d.removed, `${f} ${step.id}`).toHaveLength(1);
        expect(d.added).toEqual([d.removed[0]!.replace(/wait:\s*\S+/, 'wait: 11d')]);
      } else {
        expect(d.removed).toEqual([]);
        expect(d.added).toHaveLength(1);
        expect(d.added[0]).toMatch(/^ +wait: 11d$/);
      }
      const after = parse(edited);
      expect(after.steps[i].wait).toBe('11d');
      expect({
        ...after,
        steps: after.steps.map((s: object, k: number) => (k === i ? { ...s, wait: undefined } : s)),
      }).toEqual({
        ...seq,
        steps: seq.steps.map((s: object, k: number) => (k === i ? { ...s, wait: undefined } : s)),
      });
      expect(parseSequence(edited, f).problems).toEqual([]);
    });
  });

  it('refuses what is not a duration, a step that does not exist, and sets the version in place', () => {
    const text = read('winback-lapsed.yaml');
    expect(() => setStepWait(text, 0, '7 days')).toThrow(/expected a duration like 5d/);
    expect(() => setStepWait(text, 9, '7d')).toThrow(/there is no step 10/);
    expect(() => setStepWait('steps: [{ id: a }]\n', 0, '7d')).toThrow(/not a block list/);
    const bumped = setVersion(text, 3);
    expect(lineDiff(text, bumped)).toEqual({ removed: ['version: 2'], added: ['version: 3'] });
  });
});

describe('the flow picture', () => {
  it.each(SHIPPED)(
    '%s: one node per element, every edge between existing nodes, every node on a line of the file',
    (f) => {
      const parsed = parseSequence(read(f), f);
      const flow = buildFlow(parsed.sequence!, parsed.locator!);
      expect(flow.nodes).toHaveLength(flowNodeCount(parsed.sequence!));
      const ids = new Set(flow.nodes.map((n) => n.id));
      expect(ids.size).toBe(flow.nodes.length);
      for (const e of flow.edges) expect(ids.has(e.from) && ids.has(e.to), `${e.from} → ${e.to}`).toBe(true);
      const lines = read(f).split('\n');
      for (const n of flow.nodes.filter((x) => x.kind === 'step'))
        expect(lines[n.line - 1]).toContain(`id: ${n.stepId}`);
      // No two boxes overlap.
      for (const a of flow.nodes)
        for (const b of flow.nodes)
          if (a !== b) expect(Math.abs(a.x - b.x) >= 220 || Math.abs(a.y - b.y) >= 84, `${a.id} / ${b.id}`).toBe(true);
    },
  );
});

describe('project files', () => {
  const root = mkdtempSync(join(tmpdir(), 'comeback-files-'));
  mkdirSync(join(root, 'sequences'));
  mkdirSync(join(root, 'templates', 'winback'), { recursive: true });
  writeFileSync(join(root, 'sequences', 'a.yaml'), 'id: a\n');
  writeFileSync(join(root, 'templates', 'winback', 'x.en.mjml'), '<mj-text>x</mj-text>\n');
  writeFileSync(join(root, 'secret.txt'), 'secret\n');
  symlinkSync(join(root, 'secret.txt'), join(root, 'templates', 'leak.txt'));
  symlinkSync(root, join(root, 'templates', 'up'));
  const files = new ProjectFiles(root, 'sequences', 'templates');
  const status = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      return err instanceof StudioError ? err.status : String(err);
    }
    return 200;
  };

  it('reads and writes only sequence and template files, and nothing a link leads to outside', () => {
    // Links are not listed (nor followed when named).
    expect(files.list().map((f) => f.path)).toEqual(['sequences/a.yaml', 'templates/winback/x.en.mjml']);
    expect(files.read('sequences/a.yaml').text).toBe('id: a\n');
    for (const p of [
      'secret.txt',
      '../secret.txt',
      '/etc/passwd',
      'sequences/../secret.txt',
      'templates/leak.txt',
      'templates/up/secret.txt',
      'sequences/a.txt',
      'templates/winback/x.js',
      'sequences/x\0.yaml',
      '',
    ]) {
      expect([400, 403], p).toContain(status(() => files.read(p)));
      expect([400, 403], p).toContain(status(() => files.write(p, 'x', null)));
    }
    expect(readFileSync(join(root, 'secret.txt'), 'utf8')).toBe('secret\n');
  });

  it('writes byte for byte, refuses a stale base and an oversized text, and can create a new file', () => {
    const a = files.read('sequences/a.yaml');
    const text = 'id: a\r\n# kept as written \u00e4\n';
    expect(files.write('sequences/a.yaml', text, a.hash).hash).toBe(textHash(text));
    expect(readFileSync(join(root, 'sequences', 'a.yaml'), 'utf8')).toBe(text);
    expect(status(() => files.write('sequences/a.yaml', 'id: b\n', a.hash))).toBe(409);
    expect(status(() => files.write('sequences/a.yaml', 'x'.repeat(BYTES.sequenceFile + 1), textHash(text)))).toBe(413);
    expect(readFileSync(join(root, 'sequences', 'a.yaml'), 'utf8')).toBe(text);
    expect(status(() => files.write('sequences/new.yaml', 'id: new\n', null))).toBe(200);
    expect(status(() => files.write('sequences/new.yaml', 'id: new\n', null))).toBe(409);
  });
});

describe('adding a step from the graph', () => {
  it.each(SHIPPED)('%s: a copy of each step under a new id, only added lines, the file still valid', (f) => {
    const text = read(f);
    const seq = parse(text);
    seq.steps.forEach((step: { id: string }, i: number) => {
      const { text: edited, id } = addStepAfter(text, i);
      expect(id).toBe(`${step.id}-2`);
      const d = lineDiff(text, edited);
      expect(d.removed, `${f} after ${step.id}`).toEqual([]);
      expect(d.added.length).toBeGreaterThan(0);
      const after = parse(edited);
      expect(after.steps).toHaveLength(seq.steps.length + 1);
      expect(after.steps[i + 1]).toEqual({ ...seq.steps[i], id });
      expect(parseSequence(edited, f).problems).toEqual([]);
    });
  });
});
