/**
 * A sequence as a graph for the studio's flow picture: the entry (audience, consent, holdout),
 * each step with its wait and conditions, its variants or branch cases, then goal, exits and the
 * hand-over to the next sequence. Every node knows the line of the YAML it comes from, and the
 * layout (rows top to bottom, cases side by side) is computed here, so the browser only draws it.
 */
import type { Problem } from '../errors.js';
import type { Locator } from '../sequences/positions.js';
import type { Sequence, Step } from '../sequences/schema.js';

/** What a node stands for. */
export type FlowNodeKind = 'entry' | 'step' | 'variant' | 'case' | 'goal' | 'exit' | 'handover';

/** One node of the flow picture. */
export interface FlowNode {
  id: string;
  kind: FlowNodeKind;
  title: string;
  /** Short lines under the title (wait, condition, template, ...). */
  lines: string[];
  /** 1-based line and column in the file (clicking the node jumps there). */
  line: number;
  column: number;
  /** The step this node belongs to (for the wait editor and the live figures). */
  stepIndex?: number;
  stepId?: string;
  /** Variant id (null: the step's own content) for variant nodes. */
  variantId?: string | null;
  x: number;
  y: number;
}

/** An arrow between two nodes. */
export interface FlowEdge {
  from: string;
  to: string;
  label?: string;
}

/** The whole picture. */
export interface Flow {
  sequenceId: string;
  nodes: FlowNode[];
  edges: FlowEdge[];
  width: number;
  height: number;
}

/** Size of a node box and the gaps of the layout, in SVG units. */
export const NODE = { width: 220, height: 84, gapX: 24, gapY: 46 } as const;

/** Cases or variants side by side at most; more wrap into further rows (11 churn reasons stay readable). */
export const PER_ROW = 4;

/**
 * Nodes a sequence draws: 1 entry, 1 per step, per step with variants 1 + variants (the step's
 * own content is a variant too), per branch 1 per case plus its default, 1 goal (when set),
 * 1 exits, 1 hand-over (when `on_success.start` is set).
 */
export function flowNodeCount(seq: Sequence): number {
  let n = 2 + seq.steps.length + (seq.goal ? 1 : 0) + (seq.on_success?.start ? 1 : 0);
  for (const s of seq.steps) n += children(s).length;
  return n;
}

interface Child {
  key: string;
  kind: 'variant' | 'case';
  title: string;
  path: (string | number)[];
  variantId?: string | null;
  lines: string[];
}

function children(step: Step): Child[] {
  const mail = (m: { template?: string; coupon?: { percent?: number; amount?: number } }) =>
    [
      m.template ? `template ${m.template}` : '',
      m.coupon ? `coupon ${m.coupon.percent ? `${m.coupon.percent}%` : `${m.coupon.amount} off`}` : '',
    ].filter(Boolean);
  if (step.variants) {
    return [
      {
        key: 'control',
        kind: 'variant',
        title: 'control (the step itself)',
        path: [],
        variantId: null,
        lines: mail(step),
      },
      ...step.variants.map((v, i) => ({
        key: `v-${v.id}`,
        kind: 'variant' as const,
        title: `variant ${v.id}`,
        path: ['variants', i],
        variantId: v.id,
        lines: mail(v),
      })),
    ];
  }
  const b = step.branch;
  if (!b) return [];
  const out: Child[] = [];
  for (const [reason, c] of Object.entries(b.cases ?? {}))
    out.push({
      key: `r-${reason}`,
      kind: 'case',
      title: `reason: ${reason}`,
      path: ['branch', 'cases', reason],
      lines: mail(c!),
    });
  (b.when ?? []).forEach((c, i) =>
    out.push({ key: `w-${i}`, kind: 'case', title: `if ${c.if}`, path: ['branch', 'when', i], lines: mail(c) }),
  );
  if (b.default)
    out.push({ key: 'default', kind: 'case', title: 'otherwise', path: ['branch', 'default'], lines: mail(b.default) });
  return out;
}

function audienceLines(seq: Sequence): string[] {
  const a = seq.audience;
  if (a.trigger) return [`trigger: ${a.trigger}`];
  const d = a.dormant;
  return [
    d
      ? `dormant: ${[
          d.overdue_factor ? `${d.overdue_factor}× rhythm` : '',
          d.min_days ? `≥ ${d.min_days} d` : '',
          d.max_days ? `≤ ${d.max_days} d` : '',
        ]
          .filter(Boolean)
          .join(', ')}`
      : '',
    a.min_orders ? `orders ≥ ${a.min_orders}` : '',
    a.where ? `where ${a.where}` : '',
  ].filter(Boolean);
}

/** The flow of a valid sequence; `at` gives the positions of its file. */
export function buildFlow(seq: Sequence, at: Locator): Flow {
  const nodes: FlowNode[] = [];
  const edges: FlowEdge[] = [];
  const pos = (path: (string | number)[], atKey = false): { line: number; column: number } => {
    const p: Problem = at.problem(path, '', { atKey });
    return { line: p.line, column: p.column };
  };
  let row = 0;
  const rowOf: FlowNode[][] = [];
  const add = (n: Omit<FlowNode, 'x' | 'y'>, r: number): FlowNode => {
    const node = { ...n, x: 0, y: 0 };
    (rowOf[r] ??= []).push(node);
    nodes.push(node);
    return node;
  };
  const entry = add(
    {
      id: 'entry',
      kind: 'entry',
      title: 'audience',
      lines: [
        ...audienceLines(seq),
        `consent: ${seq.consent.join(', ')}`,
        seq.holdout > 0 ? `holdout ${Math.round(seq.holdout * 1000) / 10}%` : 'no holdout',
      ],
      ...pos(['audience'], true),
    },
    row++,
  );
  let previous: FlowNode[] = [entry];
  seq.steps.forEach((step, i) => {
    const node = add(
      {
        id: `step-${i}`,
        kind: 'step',
        title: `${i + 1}. ${step.id}`,
        lines: [
          `wait ${step.wait}`,
          step.unless ? `unless ${step.unless}` : '',
          step.only_if ? `only if ${step.only_if}` : '',
          !step.variants && !step.branch && step.template ? `template ${step.template}` : '',
        ].filter(Boolean),
        stepIndex: i,
        stepId: step.id,
        ...pos(['steps', i]),
      },
      row++,
    );
    for (const p of previous)
      edges.push({
        from: p.id,
        to: node.id,
        label: p === entry || previous.length === 1 ? `after ${step.wait}` : undefined,
      });
    const kids = children(step);
    if (kids.length === 0) {
      previous = [node];
      return;
    }
    const first = row;
    row += Math.ceil(kids.length / PER_ROW);
    previous = kids.map((c, k) => {
      const kid = add(
        {
          id: `step-${i}-${c.key}`,
          kind: c.kind,
          title: c.title,
          lines: c.lines,
          stepIndex: i,
          stepId: step.id,
          variantId: c.variantId,
          ...pos(['steps', i, ...c.path]),
        },
        first + Math.floor(k / PER_ROW),
      );
      edges.push({ from: node.id, to: kid.id });
      return kid;
    });
  });
  const end = row++;
  if (seq.goal) {
    const g = seq.goal;
    const lines = [
      g.purchase ? `purchase within ${g.purchase.within}` : '',
      g.purchase?.min_amount_ratio ? `≥ ${g.purchase.min_amount_ratio} × former basket` : '',
      g.purchase?.new_category ? 'in a new category' : '',
      g.survey_answered ? 'or survey answered' : '',
    ];
    const goal = add(
      { id: 'goal', kind: 'goal', title: 'goal', lines: lines.filter(Boolean), ...pos(['goal'], true) },
      end,
    );
    for (const p of previous) edges.push({ from: p.id, to: goal.id });
    if (seq.on_success?.start) {
      const h = add(
        {
          id: 'handover',
          kind: 'handover',
          title: `→ ${seq.on_success.start}`,
          lines: [`tag ${seq.on_success.tag ?? 'returning'}`],
          ...pos(['on_success', 'start']),
        },
        row++,
      );
      edges.push({ from: goal.id, to: h.id, label: 'on success' });
    }
  }
  const exit = add(
    { id: 'exit', kind: 'exit', title: 'exits', lines: [seq.exit_on.join(', ')], ...pos(['exit_on'], true) },
    end,
  );
  if (!seq.goal) for (const p of previous) edges.push({ from: p.id, to: exit.id });
  return { sequenceId: seq.id, nodes, edges, ...layout(rowOf) };
}

/** Rows top to bottom, the nodes of a row side by side and centred. */
function layout(rows: FlowNode[][]): { width: number; height: number } {
  const widest = Math.max(...rows.map((r) => r?.length ?? 0));
  const width = widest * NODE.width + (widest - 1) * NODE.gapX + 2 * NODE.gapX;
  rows.forEach((r, i) => {
    const span = r.length * NODE.width + (r.length - 1) * NODE.gapX;
    r.forEach((n, j) => {
      n.x = (width - span) / 2 + j * (NODE.width + NODE.gapX);
      n.y = NODE.gapY / 2 + i * (NODE.height + NODE.gapY);
    });
  });
  return { width, height: rows.length * (NODE.height + NODE.gapY) };
}
