/** The preview with test sends, the forecast and the live figures of the flow. */
import { $, api, el, query } from './api.js';
import type { Preview } from '../src/engine/preview.js';
import type { Forecast } from '../src/studio/forecast.js';
import type { Flow } from './flow.js';

let sequencePath: string | null = null;
let rendered = false;

function selected(id: string): string {
  return ($(id) as HTMLSelectElement | HTMLInputElement).value.trim();
}

async function render(): Promise<void> {
  if (!sequencePath) return;
  const out = $('pv-out');
  const error = $('pv-error');
  const form = $('pv-form');
  form.dataset.state = 'rendering';
  try {
    const p = await api<Preview>(
      'GET',
      `/api/preview?${query({
        path: sequencePath,
        step: selected('pv-step'),
        variant: selected('pv-variant'),
        customer: selected('pv-customer'),
        locale: selected('pv-locale'),
      })}`,
    );
    $('pv-subject').textContent = p.subject;
    $('pv-preheader').textContent = p.preheader;
    $('pv-from').textContent = `${p.from} → ${p.to ?? ''}`;
    $('pv-template').textContent = `${p.template} (${p.locale})`;
    ($('pv-375') as HTMLIFrameElement).srcdoc = p.html;
    ($('pv-800') as HTMLIFrameElement).srcdoc = p.html;
    $('pv-text').textContent = p.text;
    $('pv-links').replaceChildren(...p.links.map((l) => el('li', l)));
    $('pv-warnings').replaceChildren(...p.warnings.map((w) => el('li', w, { class: 'warning' })));
    out.hidden = false;
    error.hidden = true;
    rendered = true;
    form.dataset.state = 'done';
  } catch (err) {
    error.textContent = (err as Error).message;
    error.hidden = false;
    form.dataset.state = 'error';
  }
}

/** The preview form's state, driven by the editor and the flow. */
export const previewState = {
  setSequence(path: string): void {
    sequencePath = path;
    rendered = false;
    $('pv-out').hidden = true;
  },
  setSteps(flow: Flow): void {
    const step = $('pv-step') as HTMLSelectElement;
    const keep = step.value;
    const steps = flow.nodes.filter((n) => n.kind === 'step');
    step.replaceChildren(...steps.map((n) => el('option', n.stepId!, { value: n.stepId! })));
    if (steps.some((n) => n.stepId === keep)) step.value = keep;
    this.setVariants(flow);
  },
  setVariants(flow: Flow): void {
    const variant = $('pv-variant') as HTMLSelectElement;
    const step = selected('pv-step');
    const ids = flow.nodes
      .filter((n) => n.kind === 'variant' && n.stepId === step && n.variantId)
      .map((n) => n.variantId!);
    variant.replaceChildren(
      el('option', 'step itself', { value: '' }),
      ...ids.map((v) => el('option', v, { value: v })),
    );
  },
  pick(stepId: string, variantId: string | null): void {
    ($('pv-step') as HTMLSelectElement).value = stepId;
    ($('pv-variant') as HTMLSelectElement).value = variantId ?? '';
  },
  setSeeds(seeds: string[]): void {
    const to = $('ts-to') as HTMLSelectElement;
    to.replaceChildren(
      ...(seeds.length > 1 ? [el('option', `all ${seeds.length} seed addresses`, { value: '' })] : []),
      ...seeds.map((s) => el('option', s, { value: s })),
    );
    ($('ts-send') as HTMLButtonElement).disabled = seeds.length === 0;
    if (seeds.length === 0) $('ts-result').textContent = 'no seedList in the config: test sends are off';
  },
  /** After a save: templates and the sequence re-render (hot reload). */
  async refresh(): Promise<void> {
    if (rendered) await render();
  },
};

function wire(): void {
  $('pv-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void render();
  });
  let timer: number | undefined;
  $('pv-customer').addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(async () => {
      const q = selected('pv-customer');
      if (q.length < 1) return;
      const { customers } = await api<{
        customers: { externalId: string; email: string | null; firstName: string | null }[];
      }>('GET', `/api/customers?${query({ q })}`);
      $('pv-customers').replaceChildren(
        ...customers.map((c) =>
          el('option', [c.firstName, c.email].filter(Boolean).join(' · '), { value: c.externalId }),
        ),
      );
    }, 200);
  });
  $('ts-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const result = $('ts-result');
    result.textContent = 'sending…';
    try {
      const r = await api<{ sent: { to: string; status: string; error: string | null }[] }>('POST', '/api/test-send', {
        path: sequencePath,
        step: selected('pv-step'),
        variant: selected('pv-variant'),
        customer: selected('pv-customer'),
        locale: selected('pv-locale'),
        to: selected('ts-to'),
      });
      result.textContent = r.sent.map((s) => `${s.to}: ${s.status}${s.error ? ` (${s.error})` : ''}`).join('; ');
      result.dataset.state = 'done';
    } catch (err) {
      result.textContent = (err as Error).message;
      result.dataset.state = 'error';
    }
  });
}
wire();

/** The forecast as a few figures, a table per step and one bar per day. */
export function renderForecast(out: HTMLElement, f: Forecast): void {
  const dl = el('dl', undefined, { id: 'fc-figures' });
  const add = (k: string, v: string | number) => dl.append(el('dt', k), el('dd', String(v)));
  add('would enter', f.entered);
  add('of them holdout', f.holdout);
  add('waiting for the frequency cap', f.capDeferrals);
  add('waiting for the send window', f.windowDeferrals);
  add('kept out by consent', f.consentBlocked);
  add('reaching the goal (assumed)', f.goals);
  const table = el('table');
  table.append(el('tr'));
  table.rows[0]!.append(el('th', 'step'), el('th', 'mails'));
  for (const s of f.perStep) {
    const tr = el('tr');
    tr.append(el('td', s.stepId), el('td', String(s.sent)));
    table.append(tr);
  }
  const max = Math.max(1, ...f.mailsPerDay.map((d) => d.mails));
  const bars = el('div', undefined, { class: 'bars', 'aria-label': 'mails per day' });
  for (const d of f.mailsPerDay)
    bars.append(
      el('span', undefined, { title: `${d.date}: ${d.mails}`, style: `height:${Math.round((d.mails / max) * 100)}%` }),
    );
  out.replaceChildren(
    el(
      'p',
      `${f.sequenceId} v${f.version}, ${f.days} days from ${f.start.slice(0, 10)}, over the customers of the database; nothing is sent.`,
    ),
    dl,
    table,
    el('h4', 'mails per day'),
    bars,
    el('p', `Assumptions: ${f.assumptions}.`, { class: 'small' }),
  );
}

interface Funnel {
  sent: number;
  humanOpens: number;
  humanClicks: number;
  conversions: number;
}

/** Live figures from the stats report, keyed by flow node id. */
export async function overlayFigures(flow: Flow): Promise<Map<string, string>> {
  const figures = new Map<string, string>();
  const { sequence } = await api<{
    sequence: {
      funnel: Funnel & { enrolled: number };
      uplift: { upliftPp?: number | null };
      steps: {
        stepId: string;
        funnel: Funnel;
        variants: { variantId: string | null; allocation: number; funnel: Funnel }[];
      }[];
    } | null;
  }>('GET', `/api/stats?${query({ sequence: flow.sequenceId })}`);
  if (!sequence) return figures;
  const line = (f: Funnel) =>
    `sent ${f.sent} · opens ${f.humanOpens} · clicks ${f.humanClicks} · conv ${f.conversions}`;
  figures.set('entry', `enrolled ${sequence.funnel.enrolled} · conv ${sequence.funnel.conversions}`);
  for (const n of flow.nodes) {
    const step = sequence.steps.find((s) => s.stepId === n.stepId);
    if (!step) continue;
    if (n.kind === 'step') figures.set(n.id, line(step.funnel));
    if (n.kind === 'variant') {
      const v = step.variants.find((x) => x.variantId === (n.variantId ?? null));
      if (v) figures.set(n.id, `share ${Math.round(v.allocation * 100)}% · sent ${v.funnel.sent}`);
    }
  }
  return figures;
}
