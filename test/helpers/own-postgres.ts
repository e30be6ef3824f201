/**
 * A PostgreSQL cluster of a test's own, on its own port, so the test may restart it and terminate
 * its connections without disturbing the shared server. Needs the PostgreSQL server binaries
 * (initdb, pg_ctl) on PATH and, when the test runs as root, a `postgres` user (the server refuses
 * to run as root). A missing binary fails the test with that message; it is never skipped.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';

/** A running cluster: its URL and the operations a test needs on it. */
export interface OwnPostgres {
  url: string;
  port: number;
  /** `pg_ctl restart -m fast`: every connection is terminated, the server is back when it returns. */
  restart(): void;
  /** `pg_ctl stop -m fast`: the server is down until `start()`. */
  down(): void;
  /** Starts the server again after `down()`. */
  up(): void;
  /** Terminates every other backend of the database (what an idle-connection reaper or failover does). */
  terminateBackends(): Promise<number>;
  stop(): void;
}

/** Starts a fresh cluster (initdb + pg_ctl start) in a temp folder on a free port. */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-pg-'));
  const data = join(dir, 'data');
  const root = userInfo().uid === 0;
  // The server refuses to run as root: run the binaries as the postgres user, in a folder it owns.
  const as = (cmd: string, args: string[]) =>
    (root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = as(cmd, args);
    try {
      return execFileSync(file, argv, { stdio: 'pipe', timeout: 120_000 }).toString();
    } catch (err) {
      const e = err as Error & { stderr?: Buffer };
      throw new Error(
        `${cmd} failed (${e.stderr?.toString().trim() || e.message}); this test needs the PostgreSQL server binaries (initdb, pg_ctl) on PATH${root ? ' and a postgres user' : ''}`,
      );
    }
  };
  if (root)
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
      Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    );
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  // fsync off: the test proves the engine's behaviour, not the disk's.
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
  const log = join(dir, 'server.log');
  run('pg_ctl', ['-D', data, '-o', opts, '-l', log, '-w', '-t', '60', 'start']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    restart: () => void run('pg_ctl', ['-D', data, '-m', 'fast', '-l', log, '-w', '-t', '60', 'restart']),
    down: () => void run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']),
    up: () => void run('pg_ctl', ['-D', data, '-o', opts, '-l', log, '-w', '-t', '60', 'start']),
    async terminateBackends() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const r = await c.query(
          `select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid() and backend_type = 'client backend') t`,
        );
        return (r.rows[0] as { n: number }).n;
      } finally {
        await c.end();
      }
    },
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
