/** Draws the server-computed flow as SVG; a click on a node selects it (the caller jumps to its line). */
import { el } from './api.js';

import type { Flow, FlowNode } from '../src/studio/flow.js';

export type { Flow, FlowNode };

const W = 220;
const H = 84;
const NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const clip = (s: string, n = 34) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Replaces the content of `box` with the picture; `figures` adds a live line per node id. */
export function drawFlow(
  box: HTMLElement,
  flow: Flow,
  onPick: (n: FlowNode) => void,
  figures: Map<string, string> = new Map(),
): void {
  box.replaceChildren();
  const root = svg('svg', {
    viewBox: `0 0 ${flow.width} ${flow.height}`,
    width: flow.width,
    height: flow.height,
    role: 'img',
    'aria-label': `flow of ${flow.sequenceId}`,
  });
  const defs = svg('defs', {});
  const marker = svg('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#667' }));
  defs.append(marker);
  root.append(defs);
  const byId = new Map(flow.nodes.map((n) => [n.id, n]));
  for (const e of flow.edges) {
    const a = byId.get(e.from);
    const b = byId.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + W / 2;
    const y1 = a.y + H;
    const x2 = b.x + W / 2;
    const y2 = b.y;
    const my = (y1 + y2) / 2;
    root.append(
      svg('path', {
        d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}`,
        class: 'edge',
        'marker-end': 'url(#arrow)',
      }),
    );
    if (e.label) root.append(svg('text', { x: (x1 + x2) / 2 + 6, y: my + 4, class: 'edge-label' }, e.label));
  }
  for (const n of flow.nodes) {
    const g = svg('g', {
      class: `node ${n.kind}`,
      'data-id': n.id,
      'data-kind': n.kind,
      'data-line': n.line,
      transform: `translate(${n.x},${n.y})`,
      tabindex: 0,
    });
    g.append(svg('rect', { width: W, height: H, rx: 8 }));
    g.append(svg('text', { x: 10, y: 18, class: 'title' }, clip(n.title, 30)));
    n.lines.slice(0, 3).forEach((l, i) => g.append(svg('text', { x: 10, y: 36 + i * 14 }, clip(l))));
    const fig = figures.get(n.id);
    if (fig) g.append(svg('text', { x: 10, y: H - 6, class: 'figures' }, clip(fig, 36)));
    const title = svg('title', {}, [n.title, ...n.lines, `line ${n.line}`].join('\n'));
    g.append(title);
    g.addEventListener('click', () => onPick(n));
    g.addEventListener('keydown', (ev) => {
      if ((ev as KeyboardEvent).key === 'Enter') onPick(n);
    });
    root.append(g);
  }
  box.append(root);
  if (flow.nodes.length === 0) box.append(el('p', 'no nodes'));
}
