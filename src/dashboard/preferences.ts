import type { PreferenceReport } from '../metrics/preferences.js';
import { esc } from '../server/pages.js';
import { metric } from './format.js';

const KEYS = ['snoozes', 'frequencyChanges', 'topicOptOuts', 'unsubscribes'] as const;

/**
 * "Kept instead of lost": the preference page's choices per sequence and step beside the
 * unsubscribes, and what snoozed customers did after the snooze (the `preferences` of the report).
 */
export function preferencesSection(p: PreferenceReport | undefined): string {
  if (!p) return '';
  const body = !p.steps.length
    ? `<p class="muted">No preference choices or unsubscribes yet.</p>`
    : `<div class="table"><table class="preferences"><thead><tr><th>Sequence</th><th>Step</th><th>Snoozed</th><th>Frequency changed</th><th>Topic left</th><th>Unsubscribed</th></tr></thead><tbody>` +
      p.steps
        .map(
          (r, i) =>
            `<tr><td>${esc(r.sequenceId ?? 'account page / API')}</td><td>${esc(r.stepId ?? '—')}</td>` +
            KEYS.map(
              (k) => `<td>${metric(`preferences.${i}.${k}`, ['preferences', 'steps', i, k], r[k], 'int')}</td>`,
            ).join('') +
            '</tr>',
        )
        .join('') +
      `<tr><th scope="row" colspan="2">Total</th>${KEYS.map((k) => `<td>${metric(`preferences.total.${k}`, ['preferences', 'totals', k], p.totals[k], 'int')}</td>`).join('')}</tr></tbody></table></div>`;
  const s = p.snoozeReturns;
  const back =
    `<p>Snoozes ended: ${metric('preferences.snooze.ended', ['preferences', 'snoozeReturns', 'ended'], s.ended, 'int')}; ` +
    `then opened: ${metric('preferences.snooze.opened', ['preferences', 'snoozeReturns', 'opened'], s.opened, 'int')}; ` +
    `then bought: ${metric('preferences.snooze.bought', ['preferences', 'snoozeReturns', 'bought'], s.bought, 'int')}.</p>`;
  return `<section><h2>Kept instead of lost</h2>${body}${back}</section>`;
}
