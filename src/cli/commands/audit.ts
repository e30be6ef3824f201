import type { Command } from 'commander';
import { describePreferences } from '../../consent/preferences.js';
import type { MessageAudit, PersonAudit } from '../../engine/person-audit.js';
import { withEngine } from '../context.js';
import { requireEmail } from './export.js';

const time = (t: number | null | undefined) =>
  t === null || t === undefined ? '-' : new Date(t).toISOString().replace('T', ' ').slice(0, 16);

/** Evidence in one line: key=value, personal values shown as stored. */
function evidenceLine(e: Record<string, unknown>): string {
  const parts = Object.entries(e)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(
      ([k, v]) =>
        `${k}=${typeof v === 'number' && /At$/.test(k) ? time(v) : typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
    );
  return parts.length ? parts.join(', ') : 'none recorded';
}

function why(m: MessageAudit): string {
  if (!m.legalBasis) return 'no legal basis stored';
  if (!m.consent) return `${m.legalBasis}, ledger entry #${m.consentId ?? '?'} not found`;
  const c = m.consent;
  const inForce = m.inForceAtSend === null ? '' : m.inForceAtSend ? '; in force when sent' : '; NOT in force when sent';
  return `${m.legalBasis} by ledger entry #${m.consentId} (${c.action} via ${c.source}${c.textVersion ? `, wording ${c.textVersion}` : ''}, ${time(c.recordedAt)})${inForce}\n      evidence: ${evidenceLine(c.evidence)}`;
}

/** The audit as text: one block per customer record, one line per message. */
export function auditText(a: PersonAudit): string {
  const out = [`audit of ${a.email} (sha256 ${a.emailHash.slice(0, 16)}…)`];
  out.push(
    a.suppressions.length
      ? `suppressed: ${a.suppressions.map((s) => `${s.scope} (${s.reason}, ${time(s.createdAt)})`).join('; ')}`
      : 'suppressed: no',
  );
  if (a.customers.length === 0) out.push('no customer record holds this address (never stored, or erased)');
  for (const c of a.customers) {
    out.push('', `customer ${c.customerId} (${c.externalId}), address obtained via ${c.acquiredVia}`);
    const active = c.state.active.map((b) => `${b.basis} (#${b.consentId}, ${time(b.grantedAt)})`).join(', ');
    out.push(`  consent now: ${active || 'none'}${c.state.objected ? `; OBJECTED ${time(c.state.objectedAt)}` : ''}`);
    out.push(`  preferences: ${describePreferences(c.preferences)}`);
    for (const n of c.now)
      out.push(
        `  ${n.sequenceId}: ${n.allowed ? `may be mailed (${n.basis})` : `not mailed: ${n.reason}${n.detail ? ` (${n.detail})` : ''}`}`,
      );
    out.push(c.messages.length ? '  messages:' : '  messages: none');
    for (const m of c.messages) {
      const head = `    #${m.messageId} ${m.sequenceId}/${m.stepId}${m.variantId ? `:${m.variantId}` : ''} ${m.status} ${time(m.sentAt ?? m.reservedAt)}`;
      out.push(`${head}${m.error && m.status !== 'sent' ? ` (${m.error})` : ''}\n      ${why(m)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** `comeback audit EMAIL [--json]` */
export function register(program: Command): void {
  program
    .command('audit')
    .description(
      'why each mail to an address was allowed: legal basis, ledger entry and its evidence; and what the policy says now',
    )
    .argument('<email>', "the person's email address")
    .option('--json', 'print JSON for scripts')
    .action(async (email: string, opts: { json?: boolean }, cmd: Command) => {
      const address = requireEmail(email);
      await withEngine(cmd, async (engine) => {
        const a = await engine.privacy.audit(address);
        process.stdout.write(opts.json ? `${JSON.stringify(a, null, 2)}\n` : auditText(a));
      });
    });
}
