import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DashboardConfig } from '../config/schema.js';
import { ComebackError, NotFoundError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { operatorNotices } from '../engine/notices.js';
import type { StatsReport } from '../metrics/report.js';
import { esc } from '../server/pages.js';
import type { ServerPlugin } from '../server/context.js';
import { parseTime } from '../util/time.js';
import { basicUser, checkAuth, refuse, SESSION_COOKIE, sessionValue } from './auth.js';
import { registerConsole, setViewer } from './console.js';
import { consoleExtras } from './console-page.js';
import { sessionViewer } from './session.js';
import { hasUsers } from './users.js';
import { CLIENT_JS } from './client.js';
import type { BacktestView } from './backtest.js';
import { latestRun } from '../dormancy/index.js';
import { renderPage } from './render.js';
import { variantTimelines } from './timeline.js';

/** Where the dashboard lives on the server. */
export const DASHBOARD_PATH = '/dashboard';

/** chart.js only exports its module entry points; the UMD build for a plain `<script>` sits next to them. */
function chartJsPath(): string {
  const main = createRequire(import.meta.url).resolve('chart.js');
  return join(dirname(main), 'chart.umd.min.js');
}

const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The filter of a request: `?sequence=ID&since=YYYY-MM-DD` (or 01.03.2026, or an ISO time; UTC unless it has an offset). */
interface Filter {
  sequence?: string;
  since?: string;
  sinceMs?: number;
}

function parseFilter(query: unknown): Filter | { error: string } {
  const q = (query ?? {}) as Record<string, unknown>;
  const out: Filter = {};
  if (typeof q.sequence === 'string' && q.sequence !== '') out.sequence = q.sequence;
  if (typeof q.since === 'string' && q.since !== '') {
    // The same reading of a date as `comeback stats --since`, so both show the same numbers.
    const ms = parseTime(q.since);
    if (ms === undefined) return { error: `since: expected a date like 2026-03-01, got "${q.since}"` };
    out.since = q.since;
    out.sinceMs = ms;
  }
  return out;
}

/** The status for a report that could not be built from the filter; other errors are the server's (500). */
function filterStatus(err: unknown): number {
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ComebackError) return 400;
  throw err;
}

async function report(engine: Engine, f: Filter): Promise<StatsReport> {
  return engine.report({
    ...(f.sequence ? { sequence: f.sequence } : {}),
    ...(f.sinceMs !== undefined ? { since: f.sinceMs } : {}),
  });
}

/**
 * The dashboard as a server plugin: `GET /dashboard` (the page), `GET /dashboard/api/stats`
 * (the stats report as JSON, the same document `comeback stats --json` prints; `?sequence=` and
 * `?since=` filter) and the page's scripts under `/dashboard/assets/` (Chart.js from
 * node_modules and the small drawing script: no data, no credentials needed).
 *
 * Credentials come from `config.dashboard` unless `overrides` gives them (the demo passes a
 * random token). Without any, the page and API answer 403 with the fix.
 *
 * ```ts
 * const app = await buildServer({ engine, plugins: [dashboardPlugin()] });
 * ```
 */
/** The backtest stored by the last finished scoring run, if any (databases before migration 012 have none). */
async function lastBacktest(engine: Engine): Promise<BacktestView> {
  const run = await latestRun(engine.ctx).catch(() => undefined);
  if (!run?.return_backtest) return null;
  try {
    return JSON.parse(run.return_backtest) as BacktestView;
  } catch {
    return null;
  }
}

export function dashboardPlugin(overrides: Partial<DashboardConfig> = {}): ServerPlugin {
  return async (app, { engine }) => {
    const cfg: DashboardConfig = { ...DashboardConfig.parse(engine.ctx.config.dashboard ?? {}), ...overrides };
    if (!cfg.enabled) return;
    let chartJs: Buffer | undefined;

    /** Finds who is asking (a login session, else the shared viewer credentials); refuses when no one. */
    const resolve = async (
      request: FastifyRequest,
      reply: FastifyReply,
      json: boolean,
    ): Promise<FastifyReply | undefined> => {
      const session = await sessionViewer(request, engine.ctx.k);
      if (session) return void setViewer(request, session);
      const verdict = checkAuth(request, cfg);
      if (verdict.kind === 'ok') {
        setViewer(request, { name: basicUser(request) ?? 'token', role: 'viewer', session: false });
        return undefined;
      }
      const users = await hasUsers(engine.ctx.k);
      // With users, a browser without credentials is sent to the login form.
      if (users && !json && request.method === 'GET')
        return reply.header('cache-control', 'no-store').redirect(`${DASHBOARD_PATH}/login`, 303);
      return refuse(reply, users && verdict.kind === 'unconfigured' ? { kind: 'denied' } : verdict, cfg, json);
    };
    await registerConsole(app, engine, DASHBOARD_PATH, (request, reply) =>
      resolve(request, reply, request.url.includes('/api/')),
    );

    const guard = (json: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
      const refused = await resolve(request, reply, json);
      if (refused) return refused;
      const verdict = checkAuth(request, cfg);
      if (verdict.kind === 'ok' && verdict.viaQuery && !json && cfg.token) {
        // Trade the token in the address bar for a cookie, so it stays out of history and logs.
        const rest = new URLSearchParams(request.query as Record<string, string>);
        rest.delete('token');
        const secure = request.protocol === 'https' ? '; Secure' : '';
        const q = rest.toString();
        return reply
          .header(
            'set-cookie',
            `${SESSION_COOKIE}=${sessionValue(cfg.token)}; Path=${DASHBOARD_PATH}; HttpOnly; SameSite=Strict${secure}`,
          )
          .header('cache-control', 'no-store')
          .redirect(`${DASHBOARD_PATH}${q ? `?${q}` : ''}`, 303);
      }
    };

    app.get(DASHBOARD_PATH, { preHandler: guard(false) }, async (request, reply) => {
      reply
        .header('cache-control', 'no-store')
        .header('content-security-policy', PAGE_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('x-frame-options', 'DENY')
        .header('referrer-policy', 'same-origin')
        .type('text/html; charset=utf-8');
      const f = parseFilter(request.query);
      if ('error' in f)
        return reply
          .code(400)
          .send(`<!doctype html><meta charset="utf-8"><title>Comeback dashboard</title><p>${esc(f.error)}</p>`);
      let r: StatsReport;
      try {
        r = await report(engine, f);
      } catch (err) {
        return reply
          .code(filterStatus(err))
          .send(
            `<!doctype html><meta charset="utf-8"><title>Comeback dashboard</title><p>${esc((err as Error).message)}</p><p><a href="${DASHBOARD_PATH}">all sequences</a></p>`,
          );
      }
      const steps = r.sequences.flatMap((s) =>
        (s.steps ?? [])
          .filter((st) => st.variants?.length)
          .map((st) => ({ sequenceId: s.sequenceId, stepId: st.stepId })),
      );
      const timelines = await variantTimelines(engine.ctx, steps, f.sinceMs);
      const notices = await operatorNotices(engine.ctx);
      const extras = await consoleExtras(engine, request, reply, DASHBOARD_PATH);
      return renderPage({
        console: extras,
        backtest: await lastBacktest(engine),
        report: r,
        timelines,
        sequenceIds: [...new Set([...engine.ctx.sequences.ids(), ...r.sequences.map((s) => s.sequenceId)])].sort(),
        filter: { sequence: f.sequence, since: f.since },
        base: DASHBOARD_PATH,
        notices,
      });
    });

    app.get(`${DASHBOARD_PATH}/api/stats`, { preHandler: guard(true) }, async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const f = parseFilter(request.query);
      if ('error' in f) return reply.code(400).send({ error: 'invalid_filter', message: f.error });
      try {
        return await report(engine, f);
      } catch (err) {
        const status = filterStatus(err);
        return reply
          .code(status)
          .send({ error: status === 404 ? 'not_found' : 'invalid_filter', message: (err as Error).message });
      }
    });

    app.get(`${DASHBOARD_PATH}/assets/chart.umd.min.js`, async (_request, reply) => {
      chartJs ??= readFileSync(chartJsPath());
      return reply
        .type('application/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=86400')
        .send(chartJs);
    });
    app.get(`${DASHBOARD_PATH}/assets/dashboard.js`, async (_request, reply) =>
      reply.type('application/javascript; charset=utf-8').header('cache-control', 'no-cache').send(CLIENT_JS),
    );
  };
}
