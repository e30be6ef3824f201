/**
 * docs/CLI.md lists every command with its arguments and options as `comeback COMMAND --help`
 * prints them: its generated part is rebuilt here from the real program and must match.
 * After changing a command, rewrite that part with
 * `COMEBACK_WRITE_DOCS=1 npx vitest run test/cli/reference.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { ROOT } from '../worker/fixture.js';

const BEGIN = '<!-- generated from the --help of each command: begin -->';
const END = '<!-- generated from the --help of each command: end -->';

/** A table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
}

/** One command's section, then its subcommands' sections. */
function section(cmd: Command, path: string[]): string[] {
  const help = cmd.createHelp();
  const name = [...path, cmd.name()].join(' ');
  const usage = help.commandUsage(cmd);
  const out = [`### ${name}`, '', cell(cmd.description()), '', '```text', usage, '```', ''];
  const args = help.visibleArguments(cmd);
  if (args.length > 0) {
    out.push('| argument | meaning |', '| --- | --- |');
    for (const a of args) out.push(`| \`${help.argumentTerm(a)}\` | ${cell(help.argumentDescription(a))} |`);
    out.push('');
  }
  const opts = help.visibleOptions(cmd).filter((o) => o.long !== '--help');
  if (opts.length > 0) {
    out.push('| option | meaning |', '| --- | --- |');
    for (const o of opts) out.push(`| \`${help.optionTerm(o)}\` | ${cell(help.optionDescription(o))} |`);
    out.push('');
  }
  for (const sub of help.visibleCommands(cmd)) {
    if (sub.name() !== 'help') out.push(...section(sub, [...path, cmd.name()]));
  }
  return out;
}

/** The generated part of docs/CLI.md. */
export function cliReference(): string {
  const program = buildProgram();
  const help = program.createHelp();
  const lines: string[] = ['## Global options', '', 'Given before the command (`comeback --db shop.db stats`).', ''];
  lines.push('| option | meaning |', '| --- | --- |');
  for (const o of help.visibleOptions(program).filter((x) => x.long !== '--help')) {
    lines.push(`| \`${help.optionTerm(o)}\` | ${cell(help.optionDescription(o))} |`);
  }
  lines.push('', '## Commands', '');
  for (const cmd of help.visibleCommands(program)) if (cmd.name() !== 'help') lines.push(...section(cmd, ['comeback']));
  return lines.join('\n').replace(/\n+$/, '\n');
}

describe('docs/CLI.md', () => {
  it('lists every command, argument and option as the program defines them', () => {
    const file = join(ROOT, 'docs/CLI.md');
    const doc = readFileSync(file, 'utf8');
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(start, `${file}: no "${BEGIN}" line`).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const generated = `\n${cliReference()}`;
    if (process.env.COMEBACK_WRITE_DOCS === '1') {
      writeFileSync(file, doc.slice(0, start + BEGIN.length) + generated + doc.slice(end));
      return;
    }
    const hint = 'rewrite with COMEBACK_WRITE_DOCS=1 npx vitest run test/cli/reference.test.ts';
    expect(doc.slice(start + BEGIN.length, end), hint).toBe(generated);
  });
});
