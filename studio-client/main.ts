/**
 * The studio in the browser: CodeMirror 6 on the real file with Comeback's own validator as the
 * linter, the flow picture, previews, test sends and the forecast. All data comes from the
 * studio's API; everything shown from files or customers is set as text, never as HTML.
 */
import './studio.css';
import { basicSetup } from 'codemirror';
import { EditorView } from '@codemirror/view';
import { EditorState, type Extension } from '@codemirror/state';
import { yaml } from '@codemirror/lang-yaml';
import { linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { autocompletion } from '@codemirror/autocomplete';
import { $, api, ApiError, el, query } from './api.js';
import { drawFlow, type Flow, type FlowNode } from './flow.js';
import { schemaCompletion } from './complete.js';
import { previewState, renderForecast, overlayFigures } from './panels.js';

interface Problem {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
  text: string;
}
interface FileInfo {
  path: string;
  kind: 'sequence' | 'template';
  text: string;
  hash: string;
  version: { version: number; message: string } | null;
}

const state = {
  file: null as FileInfo | null,
  baseHash: null as string | null,
  saved: '',
  flow: null as Flow | null,
  sequencePath: null as string | null,
  checks: 0,
};
let view: EditorView;

function setStatus(s: 'idle' | 'pending' | 'checking' | 'ok' | 'problems' | 'error', text: string): void {
  const e = $('status');
  e.dataset.state = s;
  e.textContent = text;
}

function pos(doc: EditorState['doc'], line: number, column: number): { from: number; to: number } {
  const l = doc.line(Math.max(1, Math.min(line, doc.lines)));
  const from = Math.min(l.from + Math.max(0, column - 1), l.to);
  const rest = doc.sliceString(from, l.to);
  // The value (or key) that starts there: up to a comma or brace of a flow mapping, or a comment.
  const word = /^(?:"[^"]*"?|'[^']*'?|[^,}\]#]*[^\s,}\]#])/.exec(rest)?.[0].length ?? 0;
  return { from, to: Math.min(l.to, from + Math.max(word, 1)) };
}

function showProblems(problems: Problem[]): void {
  const list = $('problems');
  list.replaceChildren(
    ...problems.map((p) => {
      const li = el('li', p.text, { 'data-line': String(p.line), 'data-column': String(p.column) });
      li.addEventListener('click', () => jump(p.line, p.column));
      return li;
    }),
  );
}

function jump(line: number, column: number): void {
  const { from } = pos(view.state.doc, line, column);
  view.dispatch({ selection: { anchor: from }, effects: EditorView.scrollIntoView(from, { y: 'center' }) });
  view.focus();
}

function redrawFlow(figures?: Map<string, string>): void {
  if (!state.flow) return;
  drawFlow($('flow'), state.flow, pickNode, figures);
  previewState.setSteps(state.flow);
}

/** Comeback's validator as CodeMirror's linter: the same problems and positions as `comeback validate`. */
const validation = linter(
  async (v): Promise<Diagnostic[]> => {
    const file = state.file;
    if (!file || file.kind !== 'sequence') return [];
    const text = v.state.doc.toString();
    const n = ++state.checks;
    setStatus('checking', 'checking…');
    try {
      const r = await api<{ problems: Problem[]; flow: Flow | null }>('POST', '/api/validate', {
        path: file.path,
        text,
      });
      if (n !== state.checks || v.state.doc.toString() !== text) return [];
      showProblems(r.problems);
      if (r.flow) {
        state.flow = r.flow;
        redrawFlow();
      }
      setStatus(
        r.problems.length ? 'problems' : 'ok',
        r.problems.length ? `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}` : 'valid',
      );
      return r.problems.map((p) => ({ ...pos(v.state.doc, p.line, p.column), severity: 'error', message: p.text }));
    } catch (err) {
      setStatus('error', (err as Error).message);
      return [];
    }
  },
  { delay: 250 },
);

function extensions(kind: FileInfo['kind']): Extension[] {
  const onChange = EditorView.updateListener.of((u) => {
    if (!u.docChanged) return;
    const dirty = u.state.doc.toString() !== state.saved;
    ($('save') as HTMLButtonElement).disabled = !dirty;
    $('save-status').textContent = dirty ? 'unsaved changes' : '';
    if (kind === 'sequence') setStatus('pending', 'typing…');
  });
  const base = [basicSetup, onChange, EditorView.lineWrapping];
  return kind === 'sequence'
    ? [...base, yaml(), validation, lintGutter(), autocompletion({ override: [schemaCompletion] })]
    : [...base];
}

function showVersion(note: FileInfo['version']): void {
  const box = $('version-note');
  box.hidden = !note;
  box.replaceChildren();
  if (!note) return;
  const button = el('button', `Raise version to ${note.version}`, { type: 'button', id: 'version-bump' });
  button.addEventListener('click', async () => {
    const r = await api<{ text: string }>('POST', '/api/edit/version', {
      text: view.state.doc.toString(),
      version: note.version,
    });
    replaceText(r.text);
  });
  box.append(el('span', note.message), button);
}

/** Applies a new text as the smallest change (so undo and the cursor behave). */
function replaceText(text: string): void {
  const old = view.state.doc.toString();
  let a = 0;
  while (a < old.length && a < text.length && old[a] === text[a]) a++;
  let b = 0;
  while (b < old.length - a && b < text.length - a && old[old.length - 1 - b] === text[text.length - 1 - b]) b++;
  view.dispatch({ changes: { from: a, to: old.length - b, insert: text.slice(a, text.length - b) } });
}

async function open(path: string): Promise<void> {
  const file = await api<FileInfo>('GET', `/api/file?${query({ path })}`);
  state.file = file;
  state.baseHash = file.hash;
  state.saved = file.text;
  $('file-name').textContent = file.path;
  for (const a of document.querySelectorAll<HTMLElement>('#files a'))
    a.classList.toggle('on', a.dataset.path === file.path);
  showProblems([]);
  showVersion(file.version);
  if (file.kind === 'sequence') {
    state.sequencePath = file.path;
    state.flow = null;
    $('flow').replaceChildren();
    $('node-panel').hidden = true;
    previewState.setSequence(file.path);
  }
  setStatus(file.kind === 'sequence' ? 'pending' : 'idle', '');
  view?.destroy();
  view = new EditorView({
    parent: $('editor'),
    state: EditorState.create({ doc: file.text, extensions: extensions(file.kind) }),
  });
  ($('save') as HTMLButtonElement).disabled = true;
  $('save-status').textContent = '';
  (window as unknown as { studioView: EditorView }).studioView = view;
}

async function save(): Promise<void> {
  const file = state.file;
  if (!file) return;
  const text = view.state.doc.toString();
  try {
    const r = await api<{ file: FileInfo; problems: Problem[]; version: FileInfo['version'] }>('POST', '/api/save', {
      path: file.path,
      text,
      baseHash: state.baseHash,
    });
    state.baseHash = r.file.hash;
    state.saved = text;
    ($('save') as HTMLButtonElement).disabled = true;
    $('save-status').textContent = r.problems.length ? `saved, with ${r.problems.length} problem(s)` : 'saved';
    showVersion(r.version);
    await previewState.refresh(); // templates and sequences re-render on save
  } catch (err) {
    const s = $('save-status');
    s.replaceChildren(el('span', (err as Error).message, { class: 'error' }));
    if (err instanceof ApiError && err.status === 409) {
      const reload = el('button', 'Reload from disk', { type: 'button', id: 'reload' });
      reload.addEventListener('click', () => void open(file.path));
      s.append(reload);
    }
  }
}

function pickNode(n: FlowNode): void {
  jump(n.line, n.column);
  for (const g of document.querySelectorAll('#flow g.node'))
    g.classList.toggle('on', g.getAttribute('data-id') === n.id);
  const panel = $('node-panel');
  panel.hidden = false;
  panel.replaceChildren(el('strong', n.title), el('span', ` line ${n.line}`));
  if (n.kind === 'step' && n.stepIndex !== undefined) {
    const current = n.lines.find((l) => l.startsWith('wait '))?.slice(5) ?? '0d';
    const input = el('input', undefined, { id: 'wait-input', value: current, size: '6', 'aria-label': 'wait' });
    const apply = el('button', 'Change wait', { type: 'button', id: 'wait-apply' });
    apply.addEventListener('click', async () => {
      try {
        const r = await api<{ text: string }>('POST', '/api/edit/wait', {
          text: view.state.doc.toString(),
          stepIndex: n.stepIndex,
          wait: input.value.trim(),
        });
        replaceText(r.text);
      } catch (err) {
        panel.append(el('p', (err as Error).message, { class: 'error' }));
      }
    });
    const add = el('button', 'Add a step after (a copy)', { type: 'button', id: 'add-step' });
    add.addEventListener('click', async () => {
      try {
        const index = n.stepIndex;
        const r = await api<{ text: string; id: string }>('POST', '/api/edit/add-step', {
          text: view.state.doc.toString(),
          stepIndex: index,
        });
        replaceText(r.text);
        panel.append(el('p', `added step ${r.id}: change its template, subject and wait in the file`));
      } catch (err) {
        panel.append(el('p', (err as Error).message, { class: 'error' }));
      }
    });
    panel.append(el('label', ' wait '), input, apply, add);
  }
  if (n.stepId) previewState.pick(n.stepId, n.variantId ?? null);
}

async function start(): Promise<void> {
  const { files, seedList } = await api<{ files: { path: string; kind: string }[]; seedList: string[] }>(
    'GET',
    '/api/files',
  );
  const nav = $('files');
  for (const kind of ['sequence', 'template']) {
    nav.append(el('h3', kind === 'sequence' ? 'Sequences' : 'Templates'));
    const ul = el('ul');
    for (const f of files.filter((x) => x.kind === kind)) {
      const a = el('a', f.path.replace(/^[^/]+\//, ''), { href: '#', 'data-path': f.path });
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        void open(f.path);
      });
      const li = el('li');
      li.append(a);
      ul.append(li);
    }
    nav.append(ul);
  }
  previewState.setSeeds(seedList);
  $('save').addEventListener('click', () => void save());
  document.addEventListener('keydown', (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 's') {
      ev.preventDefault();
      void save();
    }
  });
  for (const b of document.querySelectorAll<HTMLButtonElement>('.tabs button')) {
    b.addEventListener('click', () => {
      for (const o of document.querySelectorAll<HTMLButtonElement>('.tabs button')) o.classList.toggle('on', o === b);
      for (const t of document.querySelectorAll<HTMLElement>('.tab')) t.hidden = t.id !== `tab-${b.dataset.tab}`;
    });
  }
  $('overlay').addEventListener('change', async (ev) => {
    const on = (ev.target as HTMLInputElement).checked;
    if (!on || !state.flow) return redrawFlow();
    redrawFlow(await overlayFigures(state.flow));
  });
  $('fc-run').addEventListener('click', async () => {
    if (!state.sequencePath) return;
    const out = $('fc-out');
    out.replaceChildren(el('p', 'simulating…'));
    try {
      const text = state.file?.path === state.sequencePath ? view.state.doc.toString() : undefined;
      renderForecast(out, await api('POST', '/api/forecast', { path: state.sequencePath, text }));
    } catch (err) {
      out.replaceChildren(el('p', (err as Error).message, { class: 'error' }));
    }
  });
  const first = new URLSearchParams(location.search).get('file') ?? files.find((f) => f.kind === 'sequence')?.path;
  if (first) await open(first);
  document.body.dataset.ready = 'true';
}

void start();
