import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Flags for Debian's chromium in a container: no sandbox, no GPU, no phoning home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
];
export const CHROMIUM = process.env.COMEBACK_CHROMIUM ?? '/usr/bin/chromium';

/** Waits for the system chromium (it may still be being installed); fails clearly, never downloads one. */
export async function requireChromium(waitMs = 120_000): Promise<string> {
  const until = Date.now() + waitMs;
  while (!existsSync(CHROMIUM)) {
    if (Date.now() > until) {
      throw new Error(
        `${CHROMIUM} is missing: the dashboard test drives Debian's chromium (apt-get install chromium); it never downloads a browser`,
      );
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  return CHROMIUM;
}

/** Runs the built CLI (`bin/comeback.js`) and returns stdout; rejects with stderr on a non-zero exit. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const bin = join(process.cwd(), 'bin', 'comeback.js');
  if (!existsSync(join(process.cwd(), 'dist', 'src', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`comeback ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

/** The value a JSON pointer (RFC 6901) names. */
export function resolvePointer(doc: unknown, pointer: string): unknown {
  let v: any = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (v === null || typeof v !== 'object' || !(key in v)) return undefined;
    v = v[key];
  }
  return v;
}

/** One number as the page shows it. */
export interface ShownMetric {
  metric: string;
  path: string;
  format: string;
  value: string;
  text: string;
}

/**
 * Checks a shown number against the JSON value: the exact value in `data-value`, and the text
 * within the precision it is displayed with. Returns a description of the mismatch, or null.
 */
export function mismatch(m: ShownMetric, expected: unknown): string | null {
  const where = `${m.metric} (${m.path})`;
  if (expected === undefined) return `${where}: not in the stats JSON`;
  if (expected === null) return m.value === '' && m.text === '—' ? null : `${where}: JSON null, page shows "${m.text}"`;
  if (typeof expected !== 'number') return `${where}: JSON has ${JSON.stringify(expected)}, not a number`;
  if (Number(m.value) !== expected) return `${where}: data-value ${m.value} ≠ ${expected}`;
  const text = m.text.replace(/,/g, '').replace('−', '-');
  const decimals = (s: string) => (s.split('.')[1] ?? '').replace(/\D.*$/, '').length;
  let shown: number;
  let tolerance: number;
  switch (m.format) {
    case 'int':
      shown = Number(text);
      tolerance = 0;
      break;
    case 'money': {
      const num = text.replace(/[^\d.-]/g, '');
      shown = Number(num) * 100; // EUR: two minor digits
      tolerance = 0.5 + 1e-6;
      break;
    }
    case 'pct':
      shown = Number(text.replace('%', '')) / 100;
      tolerance = (0.5 * 10 ** -decimals(text)) / 100 + 1e-12;
      break;
    case 'pp':
      shown = Number(text.replace(/[+±]/, '').replace(' pp', '')) / 100;
      tolerance = (0.5 * 10 ** -decimals(text)) / 100 + 1e-12;
      break;
    default:
      shown = Number(text);
      tolerance = 0.5 * 10 ** -decimals(text) + 1e-12;
  }
  if (!Number.isFinite(shown)) return `${where}: cannot read "${m.text}"`;
  return Math.abs(shown - expected) <= tolerance ? null : `${where}: page shows "${m.text}", JSON has ${expected}`;
}

/** Drops what legitimately differs between two reports computed moments apart. */
export function withoutTimes(report: unknown): unknown {
  return JSON.parse(JSON.stringify(report), (key, value) =>
    key === 'generatedAt' || key === 'windowStart' ? undefined : value,
  );
}

/** Starts `comeback ARGS` in the background and resolves once stderr matched `ready` (with the match). */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  timeoutMs = 90_000,
): Promise<{ child: ChildProcess; match: RegExpMatchArray; stderr: () => string }> {
  const bin = join(process.cwd(), 'bin', 'comeback.js');
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`comeback ${args.join(' ')} did not get ready: ${err}`));
    }, timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = err.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, stderr: () => err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`comeback ${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

/** Resolves with the exit code once the child has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once('exit', (code) => r(code)));
}
