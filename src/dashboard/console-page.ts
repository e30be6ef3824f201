import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../engine/engine.js';
import { listOperatorActions } from '../engine/operator-log.js';
import { senderPause } from '../engine/sender-state.js';
import { countUncertain } from '../engine/uncertain.js';
import { operatorLogSection, operatorPanel, userBar, usersSection } from './console-render.js';
import { csrfToken, viewerOf } from './console.js';
import { sequenceWork } from './preview.js';
import { allows, listUsers } from './users.js';

/**
 * The console's parts of the dashboard page for the viewer of `request`: the user bar for all,
 * the operator panel for operators and admins (no action links for anyone else), the operator
 * log for all, the users for admins.
 */
export async function consoleExtras(
  engine: Engine,
  request: FastifyRequest,
  reply: FastifyReply,
  base: string,
): Promise<{ bar: string; top: string; bottom: string }> {
  const viewer = viewerOf(request);
  if (!viewer) return { bar: '', top: '', bottom: '' };
  const k = engine.ctx.k;
  const canAct = viewer.session && allows(viewer.role, 'operator');
  let top = '';
  if (canAct) {
    const ids = [
      ...new Set([
        ...engine.ctx.sequences.ids(),
        ...(await k.selectFrom('sequences').select('id').distinct().execute()).map((r) => r.id),
      ]),
    ].sort();
    const now = engine.ctx.clock.now();
    const work = [];
    for (const id of ids) work.push(await sequenceWork(k, id, now));
    top = operatorPanel(base, work, await senderPause(engine.ctx), await countUncertain(engine.ctx));
  }
  const log = operatorLogSection(await listOperatorActions(k, { limit: 20 }).catch(() => []));
  const users = viewer.session && allows(viewer.role, 'admin') ? usersSection(await listUsers(k)) : '';
  return {
    bar: userBar(viewer, base, viewer.session ? csrfToken(reply, viewer) : undefined),
    top,
    bottom: log + users,
  };
}
