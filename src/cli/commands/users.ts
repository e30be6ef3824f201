import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { cliActor } from '../../engine/operator-log.js';
import { addUser, listUsers, removeUser, ROLES, type Role } from '../../dashboard/users.js';
import { BYTES } from '../../util/limits.js';
import { formatTable } from '../../util/table.js';
import { withEngine } from '../context.js';

/** The password from `--password-file` or stdin (`--password-stdin`); one line, the line break dropped. */
async function readPassword(opts: { passwordFile?: string; passwordStdin?: boolean }): Promise<string> {
  let text: string;
  if (opts.passwordFile) text = readFileSync(opts.passwordFile, 'utf8');
  else if (opts.passwordStdin) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of process.stdin) {
      size += (c as Buffer).length;
      if (size > BYTES.json) throw new InputError('password', ['stdin holds more than a password']);
      chunks.push(c as Buffer);
    }
    text = Buffer.concat(chunks).toString('utf8');
  } else
    throw new InputError('password', [
      'give it with --password-file FILE or --password-stdin (never on the command line, where ps and the shell history see it)',
    ]);
  return text.replace(/\r?\n$/, '');
}

const when = (ms: number | null) => (ms === null ? '—' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));

/** `comeback users add|remove|list`: who may log in to the dashboard, with which role. */
export function register(program: Command): void {
  const users = program
    .command('users')
    .description('dashboard users: viewer (reads), operator (pauses, resumes, settles), admin (also sees the users)');
  users
    .command('add')
    .description('add a user, or set the role and password of an existing one (which also lifts a lock-out)')
    .argument('<username>', 'login name (letters, digits, . _ @ -)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--password-file <file>', 'read the password from this file')
    .option('--password-stdin', 'read the password from stdin')
    .action(
      async (
        username: string,
        opts: { role: string; passwordFile?: string; passwordStdin?: boolean },
        cmd: Command,
      ) => {
        if (!ROLES.includes(opts.role as Role))
          throw new InputError('--role', [`expected one of ${ROLES.join(', ')}, got "${opts.role}"`]);
        const password = await readPassword(opts);
        await withEngine(cmd, async (engine) => {
          const r = await addUser(
            engine.ctx.k,
            { username, role: opts.role as Role, password },
            Date.now(),
            cliActor(),
          );
          process.stdout.write(`${username} ${r} (${opts.role})\n`);
        });
      },
    );
  users
    .command('remove')
    .description('remove a user; their login sessions end with their next request')
    .argument('<username>')
    .action(async (username: string, _opts: unknown, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const removed = await removeUser(engine.ctx.k, username, Date.now(), cliActor());
        process.stdout.write(removed ? `${username} removed\n` : `no user ${username}; nothing to do\n`);
        if (!removed) process.exitCode = 1;
      });
    });
  users
    .command('list')
    .description('list the users')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const list = await listUsers(engine.ctx.k);
        if (opts.json) return void process.stdout.write(`${JSON.stringify(list)}\n`);
        if (!list.length)
          return void process.stdout.write(
            'no users: add one with comeback users add NAME --role operator --password-stdin\n',
          );
        const now = Date.now();
        process.stdout.write(
          `${formatTable(
            ['user', 'role', 'last login', 'locked until'],
            list.map((u) => [
              u.username,
              u.role,
              when(u.lastLoginAt),
              u.lockedUntil && u.lockedUntil > now ? when(u.lockedUntil) : '',
            ]),
          )}\n`,
        );
      });
    });
}
