/**
 * The HTML of the preference page: server-rendered, no script, mobile-first; every text comes from
 * `templates/preferences/<lang>.yaml` and is escaped. Unsubscribe-from-everything is always first.
 */
import { FREQUENCIES, SNOOZE_DAYS, type Preferences } from '../consent/preferences.js';
import { esc } from './pages.js';
import { fill } from './preference-texts.js';

const LANGUAGES = { de: 'Deutsch', en: 'English' } as const;

const STYLE = [
  'body{margin:1rem auto}section{border-top:1px solid #cbd2d9;padding:.5rem 0 1rem}h2{font-size:1.1rem;margin:.5rem 0}',
  'fieldset{border:0;padding:0;margin:0}legend{padding:0;margin-bottom:.3rem}label{padding:.35rem 0}',
  'input{margin-right:.5rem;width:1.1rem;height:1.1rem}button,select{min-height:44px}button{margin-top:.5rem}',
  '.stop{border:2px solid #8a1c1c;border-radius:6px;padding:.5rem 1rem 1rem}.stop button{background:#8a1c1c}',
  '.status{background:#e3f2e1;color:#1d4620;padding:.6rem 1rem;border-radius:4px}',
  '.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}',
].join('');

/** What the page shows. `prefs.snoozedUntil` is null unless a snooze is still running. */
export interface PreferencePageInput {
  texts: Record<string, string>;
  lang: 'de' | 'en';
  prefs: Preferences;
  objected: boolean;
  topics: readonly string[];
  /** The signed URL the forms post to. */
  action: string;
  /** A text key for the status line (`saved`, `unchanged`, `unsubscribed`), or null. */
  status: string | null;
}

/** The page body: trusted HTML, every text escaped. */
export function preferencePageBody(input: PreferencePageInput): string {
  const { texts: t, lang, prefs: p, topics, action } = input;
  const x = (k: string) => esc(t[k] ?? k);
  const form = (choice: string, inner: string, button: string) =>
    `<form method="post" action="${esc(action)}"><input type="hidden" name="choice" value="${choice}">` +
    `${inner}<button type="submit">${x(button)}</button></form>`;
  const input1 = (type: string, name: string, value: string | number, label: string, checked: boolean, id: string) =>
    `<label for="${esc(id)}"><input type="${type}" id="${esc(id)}" name="${name}" value="${esc(value)}"` +
    `${checked ? ' checked' : ''}>${esc(label)}</label>`;
  const section = (id: string, heading: string, inner: string, cls = '') =>
    `<section${cls ? ` class="${cls}"` : ''} aria-labelledby="h-${id}">` +
    `<h2 id="h-${id}">${x(heading)}</h2>${inner}</section>`;
  const group = (legend: string, inner: string, hidden = true) =>
    `<fieldset><legend${hidden ? ' class="vh"' : ''}>${x(legend)}</legend>${inner}</fieldset>`;

  const out: string[] = [`<style>${STYLE}</style>`];
  const shown = input.objected && input.status !== 'unchanged' ? 'unsubscribed' : input.status;
  out.push(shown ? `<p class="status" role="status">${x(shown)}</p>` : `<p>${x('intro')}</p>`);
  const stop = `<p>${x('unsubscribe_text')}</p>${form('unsubscribe', '', 'unsubscribe_button')}`;
  out.push(section('stop', 'unsubscribe_heading', stop, 'stop'));

  const dateFormat = new Intl.DateTimeFormat(lang === 'de' ? 'de-DE' : 'en-GB', { dateStyle: 'long' });
  const until = p.snoozedUntil !== null ? dateFormat.format(p.snoozedUntil) : null;
  const days = SNOOZE_DAYS.map((d, i) => {
    const checked = p.snooze?.days === d || (!p.snooze && i === 1);
    return input1('radio', 'days', d, fill(t.snooze_days, { days: d }, `${d} days`), checked, `snooze-${d}`);
  }).join('');
  const running = until
    ? `<p>${esc(fill(t.snoozed_until, { date: until }))}</p>` +
      form('snooze', '<input type="hidden" name="days" value="0">', 'snooze_end')
    : '';
  const choose = form('snooze', group('snooze_text', days, false), 'snooze_button');
  out.push(section('snooze', 'snooze_heading', running + choose));

  const freq = FREQUENCIES.map((f) =>
    input1('radio', 'frequency', f, t[`frequency_${f}`] ?? f, p.frequency === f, `freq-${f}`),
  ).join('');
  const often = form('frequency', group('frequency_heading', freq), 'frequency_button');
  out.push(section('freq', 'frequency_heading', often));

  if (topics.length > 0) {
    const boxes = topics
      .map((tp) => input1('checkbox', 'topic', tp, t[`topic.${tp}`] ?? tp, !p.topicsOut.includes(tp), `topic-${tp}`))
      .join('');
    out.push(section('topics', 'topics_heading', form('topics', group('topics_heading', boxes), 'topics_button')));
  }

  const options = Object.entries(LANGUAGES)
    .map(([code, name]) => `<option value="${code}" lang="${code}"${code === lang ? ' selected' : ''}>${name}</option>`)
    .join('');
  const select =
    `<label for="locale" class="vh">${x('language_heading')}</label>` +
    `<select id="locale" name="locale">${options}</select><br>`;
  out.push(section('lang', 'language_heading', form('language', select, 'language_button')));
  return out.join('');
}
