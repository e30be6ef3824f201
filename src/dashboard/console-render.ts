/**
 * The operator console's HTML: the user bar, the operator panel (what can be done, with links to
 * the confirm pages), the operator log, the users (admin), and the small pages of the login, each
 * confirm step and each result. Everything is rendered on the server and escaped; the forms post
 * to the dashboard with a CSRF token and run no script.
 */
import type { OperatorAction } from '../engine/operator-log.js';
import type { SenderPause } from '../engine/sender-state.js';
import type { UncertainMessage } from '../engine/uncertain.js';
import { esc } from '../server/pages.js';
import { OPERATOR } from '../util/limits.js';
import type { SequenceWork } from './preview.js';
import type { Viewer } from './session.js';
import type { DashboardUser } from './users.js';

const when = (ms: number | null) =>
  ms === null ? '—' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
const n = (x: number) => x.toLocaleString('en');

const SMALL_STYLE =
  'body{font-family:system-ui,sans-serif;max-width:46rem;margin:2.5rem auto;padding:0 1rem;color:#1f2933}label{display:block;margin:.6rem 0}' +
  'input[type=text],input[type=password],textarea{width:100%;font:inherit;padding:.35rem .5rem}button{font:inherit;padding:.35rem .9rem;margin-right:.5rem}' +
  '.ok{background:#e3f9e5;padding:.5rem .7rem}.warn{background:#fffbea;padding:.5rem .7rem}table{border-collapse:collapse}td,th{padding:.2rem .5rem;border-bottom:1px solid #e4e7eb;text-align:left}';

/** A small page of the console (login, confirm, result). */
export function smallPage(title: string, body: string, base: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<link rel="icon" href="data:,"><title>${esc(title)} · Comeback dashboard</title><style>${SMALL_STYLE}</style>` +
    `</head>` +
    `<body><p><a href="${esc(base)}">← dashboard</a></p><h1>${esc(title)}</h1>${body}</body></html>`
  );
}

const csrfField = (token: string) => `<input type="hidden" name="_csrf" value="${esc(token)}">`;
const reasonField = (required: boolean) =>
  `<label>Reason${required ? '' : ' (optional)'} <input type="text" name="reason" maxlength="${OPERATOR.reason}"${required ? ' required' : ''} data-field="reason">` +
  `</label>`;

/** The login form. */
export function loginPage(base: string, csrf: string, message?: string): string {
  return smallPage(
    'Log in',
    (message ? `<p class="warn" role="alert">${esc(message)}</p>` : '') +
      `<form method="post" action="${esc(base)}/login">${csrfField(csrf)}` +
      `<label>Username <input type="text" name="username" autocomplete="username" maxlength="${OPERATOR.username}" required>` +
      `</label>` +
      `<label>Password <input type="password" name="password" autocomplete="current-password" maxlength="${OPERATOR.passwordMax}" required>` +
      `</label>` +
      `<button type="submit">Log in</button></form>`,
    base,
  );
}

/** The bar at the top of the dashboard: who is looking, and log in / log out. */
export function userBar(viewer: Viewer, base: string, csrf: string | undefined): string {
  if (!viewer.session)
    return `<span class="small" data-user="${esc(viewer.name)}" data-role="viewer">read-only (${esc(viewer.name)}) · <a href="${esc(base)}/login">log in</a></span>`;
  return (
    `<form method="post" action="${esc(base)}/logout" class="small" data-user="${esc(viewer.name)}" data-role="${esc(viewer.role)}">` +
    `${esc(viewer.name)} (${esc(viewer.role)}) ${csrf ? csrfField(csrf) : ''}<button type="submit">Log out</button>` +
    `</form>`
  );
}

/** The operator panel: each sequence with its planned and parked work, the sender, uncertain mails. */
export function operatorPanel(
  base: string,
  work: SequenceWork[],
  sender: SenderPause | undefined,
  uncertain: number,
): string {
  const rows = work.map((w) => {
    const paused = w.status === 'paused';
    const action = paused
      ? `<a href="${esc(base)}/actions/resume?sequence=${encodeURIComponent(w.id)}" data-action="resume" data-sequence="${esc(w.id)}">Resume…</a>`
      : `<a href="${esc(base)}/actions/pause?sequence=${encodeURIComponent(w.id)}" data-action="pause" data-sequence="${esc(w.id)}">Pause…</a>`;
    return (
      `<tr data-sequence-row="${esc(w.id)}" data-status="${esc(w.status)}"><td>${esc(w.id)}</td>` +
      `<td>${paused ? `<span class="badge badge-pause">paused</span> ${esc((w.reason ?? '').split('\n')[0])}` : '<span class="badge badge-ok">active</span>'}</td>` +
      `<td data-planned="${w.plannedSteps + w.plannedMails}">${n(w.plannedSteps)} steps, ${n(w.plannedMails)} mails</td>` +
      `<td data-parked="${w.parkedSteps + w.parkedMails}">${n(w.parkedSteps)} steps, ${n(w.parkedMails)} mails</td>` +
      `<td>${action}</td></tr>`
    );
  });
  const senderLine = sender
    ? `<p>The sender is paused until ${esc(when(sender.until))} (${esc(sender.reason ?? 'no reason recorded')}); ${n(sender.waiting)} mails wait for it. <a href="${esc(base)}/actions/sender" data-action="resume-sender">Resume the sender…</a></p>`
    : '<p>The sender is not paused.</p>';
  const uncertainLine = uncertain
    ? `<p>${n(uncertain)} mails may or may not have arrived. <a href="${esc(base)}/actions/settle" data-action="settle">Settle them…</a></p>`
    : '<p>No uncertain mails.</p>';
  return (
    `<section id="operator-actions"><h2>Operator actions</h2><div class="table"><table><thead><tr>` +
    `<th>sequence</th><th>status</th><th>planned</th><th>parked</th><th></th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>${senderLine}${uncertainLine}</section>`
  );
}

/** The latest entries of the operator log. */
export function operatorLogSection(entries: OperatorAction[]): string {
  const rows = entries.map(
    (e) =>
      `<tr data-log-action="${esc(e.action)}" data-log-actor="${esc(e.actor)}"><td>${esc(when(e.at))}</td>` +
      `<td>${esc(e.actor)} <span class="muted">(${esc(e.via)})</span></td><td>${esc(e.action)}</td>` +
      `<td>${esc(e.target)}</td>` +
      `<td>${esc(e.reason ?? '')}</td><td>${esc(e.outcome)}</td><td>${esc(
        Object.entries(e.counts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      )}</td></tr>`,
  );
  return (
    `<section id="operator-log"><h2>Operator log</h2>` +
    (rows.length
      ? `<div class="table"><table class="left"><thead><tr><th>when</th><th>who</th><th>what</th><th>on</th><th>reason</th><th>outcome</th><th>counts</th></tr></thead><tbody>${rows.join('')}</tbody></table></div><p class="small muted">The latest ${rows.length}; all of it: comeback log</p>`
      : '<p class="muted">No operator actions yet.</p>') +
    `</section>`
  );
}

/** The users (admin only): managed with `comeback users add|remove|list`. */
export function usersSection(users: DashboardUser[]): string {
  const rows = users.map(
    (u) =>
      `<tr><td>${esc(u.username)}</td><td>${esc(u.role)}</td><td>${esc(when(u.lastLoginAt))}</td>` +
      `<td>${u.lockedUntil ? esc(`until ${when(u.lockedUntil)}`) : ''}</td></tr>`,
  );
  return `<section id="users"><h2>Users</h2><table class="left"><thead><tr><th>user</th><th>role</th><th>last login</th><th>locked</th></tr></thead><tbody>${rows.join('')}</tbody></table><p class="small muted">Add, change and remove users with comeback users add|remove|list.</p></section>`;
}

/** The confirm page of a pause: what it parks. */
export function pauseConfirm(base: string, csrf: string, w: SequenceWork): string {
  if (w.status === 'paused')
    return smallPage(
      `Pause ${w.id}`,
      `<p class="warn">${esc(w.id)} is paused already (${esc(w.reason ?? 'no reason')}).</p>`,
      base,
    );
  return smallPage(
    `Pause ${w.id}`,
    `<p data-preview="pause">Pausing parks ${n(w.plannedSteps)} enrolments' next steps and ${n(w.plannedMails)} reserved mails: nothing of ${esc(w.id)} is enrolled or sent until it is resumed; each keeps its planned time.</p>` +
      `<form method="post" action="${esc(base)}/actions/pause">${csrfField(csrf)}<input type="hidden" name="sequence" value="${esc(w.id)}">${reasonField(true)}<button type="submit">Pause ${esc(w.id)}</button>` +
      `</form>`,
    base,
  );
}

/** The confirm page of a resume: what goes out at once. */
export function resumeConfirm(base: string, csrf: string, w: SequenceWork): string {
  if (w.status !== 'paused')
    return smallPage(`Resume ${w.id}`, `<p class="warn">${esc(w.id)} is not paused.</p>`, base);
  return smallPage(
    `Resume ${w.id}`,
    `<p>Paused since ${esc(when(w.pausedAt))}: ${esc(w.reason ?? 'no reason')}</p>` +
      `<p data-preview="resume">Resuming plans ${n(w.parkedSteps)} parked steps and ${n(w.parkedMails)} parked mails again: <strong>${n(w.dueAtOnce)} are due at once</strong> (their time passed while paused), the rest keep their planned time.</p>` +
      `<form method="post" action="${esc(base)}/actions/resume">${csrfField(csrf)}<input type="hidden" name="sequence" value="${esc(w.id)}">` +
      `<input type="hidden" name="pausedAt" value="${esc(w.pausedAt ?? '')}">${reasonField(false)}<button type="submit">Resume ${esc(w.id)}</button>` +
      `</form>`,
    base,
  );
}

/** The confirm page of settling uncertain mails: which ones, and the two verdicts. */
export function settleConfirm(base: string, csrf: string, total: number, messages: UncertainMessage[]): string {
  if (!total) return smallPage('Settle uncertain mails', '<p>No uncertain mails.</p>', base);
  const rows = messages.map(
    (m) =>
      `<tr><td><input type="checkbox" name="id" value="${m.id}" checked aria-label="message ${m.id}"></td>` +
      `<td>${m.id}</td><td>${esc(`${m.sequenceId}/${m.stepId}`)}</td><td>${esc(m.customerExternalId)}</td>` +
      `<td>${esc(when(m.since))}</td><td>${esc(m.messageIdHeader ?? '—')}</td></tr>`,
  );
  return smallPage(
    'Settle uncertain mails',
    `<p data-preview="settle">${n(total)} mails may or may not have arrived${total > messages.length ? ` (the oldest ${messages.length} shown)` : ''}. Look each up in the provider's log (SMTP: by Message-ID; SendGrid: custom_args comeback_message_id = id), then record what it says: ` +
      `<em>mark sent</em> records them as delivered, <em>resend</em> sends them again with the next pass.</p>` +
      `<form method="post" action="${esc(base)}/actions/settle">${csrfField(csrf)}<table><thead><tr><th></th>` +
      `<th>id</th><th>sequence/step</th><th>customer</th><th>uncertain since</th><th>Message-ID</th></tr></thead>` +
      `<tbody>${rows.join('')}</tbody></table>` +
      `${reasonField(false)}<button type="submit" name="verdict" value="sent">Mark sent</button>` +
      `<button type="submit" name="verdict" value="resend">Resend</button></form>`,
    base,
  );
}

/** The confirm page of resuming the sender. */
export function senderConfirm(base: string, csrf: string, p: SenderPause | undefined): string {
  if (!p) return smallPage('Resume the sender', '<p>The sender is not paused.</p>', base);
  return smallPage(
    'Resume the sender',
    `<p data-preview="sender">The sender is paused until ${esc(when(p.until))}: ${esc(p.reason ?? 'no reason recorded')}. Resuming ends the pause now: <strong>${n(p.waiting)} mails are due at once</strong>. Resume only once the cause is fixed; if the provider still fails, the sender pauses again.</p>` +
      `<form method="post" action="${esc(base)}/actions/sender">${csrfField(csrf)}${reasonField(true)}<button type="submit">Resume the sender</button>` +
      `</form>`,
    base,
  );
}

/** The page after an action: what was done, or why nothing was. */
export function resultPage(base: string, title: string, message: string, done: boolean): string {
  return smallPage(
    title,
    `<p class="${done ? 'ok' : 'warn'}" role="status" data-result="${done ? 'done' : 'nothing'}">${esc(message)}</p>`,
    base,
  );
}
