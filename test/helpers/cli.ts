import { vi } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';

/**
 * Runs a `comeback` command in this process (no build, no child process) and returns what it
 * printed on stdout and stderr. The spies are restored before it returns.
 */
export async function runCliInProcess(args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  try {
    await buildProgram().parseAsync(['node', 'comeback', ...args]);
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return { out, err };
}
