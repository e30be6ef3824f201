/**
 * The operator console's routes: `GET/POST /dashboard/login`, `POST /dashboard/logout`, and per
 * action a confirm page (`GET /dashboard/actions/pause?sequence=ID`, `resume`, `settle`, `sender`)
 * that shows what it will do, and the action itself (`POST` to the same path). Actions need a
 * login session with the operator or admin role, a CSRF token and the dashboard's own origin; a
 * viewer gets 403 and nothing changes. Every action goes through the engine's own function, which
 * records it in the operator log; an action on a state that changed since the confirm page says so
 * (409) instead of acting twice.
 */
import fastifyCookie from '@fastify/cookie';
import csrfProtection from '@fastify/csrf-protection';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { ComebackError, NotFoundError } from '../errors.js';
import { recordOperatorAction, type Actor } from '../engine/operator-log.js';
import { resumeSender, senderPause } from '../engine/sender-state.js';
import { listUncertain, resolveUncertain, type UncertainVerdict } from '../engine/uncertain.js';
import { OPERATOR } from '../util/limits.js';
import {
  loginPage,
  pauseConfirm,
  resultPage,
  resumeConfirm,
  senderConfirm,
  settleConfirm,
  smallPage,
} from './console-render.js';
import { sequenceWork } from './preview.js';
import { cookieKey, endSession, sameOrigin, sessionViewer, startSession, type Viewer } from './session.js';
import { allows, login, type Role } from './users.js';

const viewers = new WeakMap<FastifyRequest, Viewer>();

/** The viewer the dashboard's guard found for a request (set before any handler runs). */
export function viewerOf(request: FastifyRequest): Viewer | undefined {
  return viewers.get(request);
}

/** Remembers who a request comes from, for the handlers and the CSRF check. */
export function setViewer(request: FastifyRequest, viewer: Viewer): void {
  viewers.set(request, viewer);
}

const SMALL_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// `same-origin`, not `no-referrer`: with no referrer at all, browsers send `Origin: null` on a form post.
function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', SMALL_CSP)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin')
    .send(body);
}

/** The CSRF token for a form, bound to the user it is shown to. */
export function csrfToken(reply: FastifyReply, viewer: Viewer | undefined): string {
  return reply.generateCsrf({ userInfo: viewer?.session ? viewer.name : 'anonymous' });
}

const field = (body: unknown, name: string): string | undefined => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : undefined;
};

/**
 * Registers cookies, CSRF protection and the console routes under `base`. `resolve` finds the
 * viewer of a request (session, token or basic auth) and refuses when there is none.
 */
export async function registerConsole(
  app: FastifyInstance,
  engine: Engine,
  base: string,
  resolve: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>,
): Promise<void> {
  const secret = engine.ctx.config.secret;
  const key = cookieKey(Array.isArray(secret) ? secret[0]! : secret);
  await app.register(fastifyCookie, { secret: key });
  await app.register(csrfProtection, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'comeback_csrf',
    cookieOpts: { path: base, httpOnly: true, sameSite: 'strict', signed: true, secure: 'auto' },
    getUserInfo: (request) => {
      const v = viewers.get(request);
      return v?.session ? v.name : 'anonymous';
    },
    csrfOpts: { hmacKey: key },
  });
  const k = engine.ctx.k;

  /** Refuses a state change from another origin (403), before anything else is read. */
  const origin = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!sameOrigin(request, engine.ctx.config.publicUrl)) {
      return html(
        reply,
        403,
        smallPage('Refused', '<p>This request did not come from the dashboard (Origin check).</p>', base),
      );
    }
  };
  /** Lets only a login session with at least `role` through: 403 for a viewer, with nothing changed. */
  const needs = (role: Role) => async (request: FastifyRequest, reply: FastifyReply) => {
    const refused = await resolve(request, reply);
    if (refused) return refused;
    const v = viewers.get(request)!;
    if (!v.session || !allows(v.role, role)) {
      if (request.method === 'POST') {
        // A refused attempt is kept too: who tried what, without any change to the engine.
        const action = request.url.split('?')[0]!.split('/').pop() ?? 'action';
        const target =
          field(request.body, 'sequence') ??
          (action === 'settle' ? 'uncertain mails' : action === 'sender' ? engine.ctx.transport.name : '');
        await recordOperatorAction(k, {
          at: engine.ctx.clock.now(),
          by: { name: v.name, via: 'dashboard' },
          action: `dashboard.${action}`,
          target,
          outcome: `refused: ${v.session ? v.role : 'read-only credential'}`,
        });
      }
      return html(
        reply,
        403,
        smallPage(
          'Not allowed',
          `<p>${v.session ? `${v.name} is a ${v.role}` : 'The dashboard token and basic auth are read-only'}: this needs a login with the ${role} role.</p>`,
          base,
        ),
      );
    }
  };
  const optionalViewer = async (request: FastifyRequest) => {
    const v = await sessionViewer(request, k);
    if (v) viewers.set(request, v);
  };
  const actor = (request: FastifyRequest): Actor => ({ name: viewers.get(request)!.name, via: 'dashboard' });
  const act = { preHandler: [origin, needs('operator'), app.csrfProtection] };
  const confirm = { preHandler: needs('operator') };

  app.get(`${base}/login`, async (request, reply) => {
    await optionalViewer(request);
    return html(reply, 200, loginPage(base, csrfToken(reply, viewers.get(request))));
  });

  app.post(`${base}/login`, { preHandler: [origin, optionalViewer, app.csrfProtection] }, async (request, reply) => {
    const username = field(request.body, 'username') ?? '';
    const password = field(request.body, 'password') ?? '';
    const r = await login(k, username, password, Date.now());
    if (r.kind === 'ok') {
      startSession(request, reply, r.user, base);
      await recordOperatorAction(k, {
        at: engine.ctx.clock.now(),
        by: { name: r.user.username, via: 'dashboard' },
        action: 'user.login',
        target: r.user.username,
        reason: `role ${r.user.role}`,
      });
      return reply.header('cache-control', 'no-store').redirect(base, 303);
    }
    const message =
      r.kind === 'locked'
        ? `Too many failed logins: this user is locked until ${new Date(r.until).toISOString()}.`
        : 'Wrong username or password.';
    return html(reply, r.kind === 'locked' ? 429 : 401, loginPage(base, csrfToken(reply, undefined), message));
  });

  app.post(`${base}/logout`, { preHandler: [origin, optionalViewer, app.csrfProtection] }, async (_request, reply) => {
    endSession(reply, base);
    return reply.header('cache-control', 'no-store').redirect(`${base}/login`, 303);
  });

  const sequenceOf = async (request: FastifyRequest, reply: FastifyReply, id: string | undefined) => {
    if (!id || id.length > 200 || !(await engine.ctx.sequences.ids()).includes(id)) {
      const known = id
        ? await k.selectFrom('sequences').select('id').where('id', '=', id).executeTakeFirst()
        : undefined;
      if (!known) return void html(reply, 404, smallPage('Not found', `<p>No sequence "${id ?? ''}".</p>`, base));
    }
    return sequenceWork(k, id!, engine.ctx.clock.now());
  };

  app.get(`${base}/actions/pause`, confirm, async (request, reply) => {
    const w = await sequenceOf(request, reply, (request.query as Record<string, string>).sequence);
    return w ? html(reply, 200, pauseConfirm(base, csrfToken(reply, viewers.get(request)), w)) : reply;
  });
  app.get(`${base}/actions/resume`, confirm, async (request, reply) => {
    const w = await sequenceOf(request, reply, (request.query as Record<string, string>).sequence);
    return w ? html(reply, 200, resumeConfirm(base, csrfToken(reply, viewers.get(request)), w)) : reply;
  });
  app.get(`${base}/actions/settle`, confirm, async (request, reply) => {
    const { total, messages } = await listUncertain(engine.ctx, 100);
    return html(reply, 200, settleConfirm(base, csrfToken(reply, viewers.get(request)), total, messages));
  });
  app.get(`${base}/actions/sender`, confirm, async (request, reply) =>
    html(reply, 200, senderConfirm(base, csrfToken(reply, viewers.get(request)), await senderPause(engine.ctx))),
  );

  /** Runs an action; bad input is a 400 page naming it, an unknown sequence 404. */
  const run = async (reply: FastifyReply, title: string, fn: () => Promise<{ done: boolean; message: string }>) => {
    try {
      const r = await fn();
      return html(reply, r.done ? 200 : 409, resultPage(base, title, r.message, r.done));
    } catch (err) {
      if (err instanceof NotFoundError) return html(reply, 404, resultPage(base, title, err.message, false));
      if (err instanceof ComebackError) return html(reply, 400, resultPage(base, title, err.message, false));
      throw err;
    }
  };

  app.post(`${base}/actions/pause`, act, async (request, reply) => {
    const sequence = field(request.body, 'sequence') ?? '';
    const reason = (field(request.body, 'reason') ?? '').trim();
    if (!reason) return html(reply, 400, resultPage(base, `Pause ${sequence}`, 'A pause needs a reason.', false));
    return run(reply, `Pause ${sequence}`, async () => {
      const paused = await engine.pause(sequence, reason, { by: actor(request) });
      if (!paused)
        return {
          done: false,
          message: `${sequence} was paused already (by someone else meanwhile?); nothing was done.`,
        };
      const w = await sequenceWork(k, sequence, engine.ctx.clock.now());
      return {
        done: true,
        message: `${sequence} paused: ${w.parkedSteps} steps and ${w.parkedMails} mails parked until it is resumed.`,
      };
    });
  });

  app.post(`${base}/actions/resume`, act, async (request, reply) => {
    const sequence = field(request.body, 'sequence') ?? '';
    const reason = (field(request.body, 'reason') ?? '').trim();
    const expected = field(request.body, 'pausedAt');
    return run(reply, `Resume ${sequence}`, async () => {
      const before = await sequenceWork(k, sequence, engine.ctx.clock.now());
      // Paused again since the confirm page was shown: that is a different pause, not the one looked at.
      if (before.status === 'paused' && expected && String(before.pausedAt) !== expected) {
        return {
          done: false,
          message: `${sequence} was resumed and paused again since you looked (${before.reason ?? 'no reason'}); nothing was done. Look again before resuming.`,
        };
      }
      const was = await engine.resume(sequence, { by: actor(request), ...(reason ? { reason } : {}) });
      if (was === null)
        return {
          done: false,
          message: `${sequence} is not paused (resumed by someone else meanwhile?); nothing was done.`,
        };
      return {
        done: true,
        message: `${sequence} resumed: ${before.parkedSteps} steps and ${before.parkedMails} mails planned again, ${before.dueAtOnce} of them due at once.`,
      };
    });
  });

  app.post(`${base}/actions/settle`, act, async (request, reply) => {
    const raw = (request.body as Record<string, unknown> | undefined)?.id;
    const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
    const verdict = field(request.body, 'verdict') as UncertainVerdict | undefined;
    const reason = (field(request.body, 'reason') ?? '').trim();
    if (verdict !== 'sent' && verdict !== 'resend')
      return html(reply, 400, resultPage(base, 'Settle', 'Choose mark sent or resend.', false));
    if (list.length === 0 || list.length > OPERATOR.settleIds || list.some((id) => !/^\d{1,15}$/.test(id))) {
      return html(
        reply,
        400,
        resultPage(base, 'Settle', `Choose between 1 and ${OPERATOR.settleIds} mails by their ids.`, false),
      );
    }
    return run(reply, 'Settle uncertain mails', async () => {
      const r = await resolveUncertain(engine.ctx, list.map(Number), verdict, {
        by: actor(request),
        ...(reason ? { reason } : {}),
      });
      const did = verdict === 'sent' ? 'recorded as sent' : 'sent again with the next pass';
      const parts = [
        r.resolved.length ? `${did}: ${r.resolved.join(', ')}` : '',
        r.skipped.length ? `no longer uncertain (settled meanwhile), left as they are: ${r.skipped.join(', ')}` : '',
      ];
      return { done: r.resolved.length > 0, message: parts.filter(Boolean).join('; ') };
    });
  });

  app.post(`${base}/actions/sender`, act, async (request, reply) => {
    const reason = (field(request.body, 'reason') ?? '').trim();
    if (!reason)
      return html(reply, 400, resultPage(base, 'Resume the sender', 'Resuming the sender needs a reason.', false));
    return run(reply, 'Resume the sender', async () => {
      const p = await resumeSender(engine.ctx, { by: actor(request), reason });
      return p
        ? { done: true, message: `The sender is resumed; ${p.waiting} mails that waited for it are due at once.` }
        : { done: false, message: 'The sender is not paused (resumed meanwhile?); nothing was done.' };
    });
  });
}
