/**
 * Maps paths in a parsed YAML document (`steps[1].wait`) back to 1-based line and column, so that
 * every problem points at the exact spot in the marketer's file.
 */
import { isMap, isNode, isScalar, isSeq, type Document, type LineCounter, type Node as YamlNode } from 'yaml';
import type { Problem } from '../errors.js';

/** A key of a path: a mapping key or a list index. */
export type PathKey = string | number;

/** `steps[1].wait` from `['steps', 1, 'wait']`. */
export function pathString(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)),
    '',
  );
}

/** Finds nodes of one document by path and turns offsets into positions. */
export class Locator {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly text: string,
  ) {}

  /** 1-based line and column of a character offset. */
  position(offset: number | undefined): { line: number; column: number } {
    const { line, col } = this.lines.linePos(Math.min(offset ?? 0, this.text.length));
    return { line, column: col };
  }

  /** The node at a path, or the deepest existing ancestor (for a missing key: its mapping). */
  node(path: readonly PropertyKey[]): YamlNode | undefined {
    let node: unknown = this.doc.contents;
    for (const key of path) {
      let child: unknown;
      if (isMap(node)) child = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key))?.value;
      else if (isSeq(node) && typeof key === 'number') child = node.items[key];
      if (!isNode(child)) break;
      node = child;
    }
    return isNode(node) ? node : undefined;
  }

  /** Whether the path exists in the document as written. */
  has(path: readonly PropertyKey[]): boolean {
    let node: unknown = this.doc.contents;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
        if (!pair) return false;
        node = pair.value;
      } else if (isSeq(node) && typeof key === 'number') {
        if (key >= node.items.length) return false;
        node = node.items[key];
      } else return false;
    }
    return true;
  }

  /** The key node of `key` inside the mapping at `path` (unknown keys point at the key itself). */
  keyNode(path: readonly PropertyKey[], key: string): YamlNode | undefined {
    const map = this.node(path);
    if (!isMap(map)) return undefined;
    const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    return isNode(pair?.key) ? pair.key : undefined;
  }

  /** A problem at the node of a path (or at its key when `atKey`). */
  problem(path: readonly PropertyKey[], message: string, options: { atKey?: boolean; offset?: number } = {}): Problem {
    let start: number | undefined;
    if (options.atKey && path.length > 0) {
      start = this.keyNode(path.slice(0, -1), String(path[path.length - 1]))?.range?.[0];
    }
    if (start === undefined) {
      const node = this.node(path);
      start = node?.range?.[0];
      if (options.offset !== undefined && node) start = (start ?? 0) + this.scalarOffset(node, options.offset);
    }
    return { file: this.file, ...this.position(start), path: pathString(path), message };
  }

  /**
   * The source offset of a character of a scalar's value. Exact for plain and quoted scalars on
   * one line without escapes; otherwise the start of the value (never a wrong column).
   */
  private scalarOffset(node: YamlNode, offset: number): number {
    if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return 0;
    const raw = this.text.slice(node.range[0], node.range[1]);
    if (raw === node.value) return offset;
    if ((raw.startsWith('"') || raw.startsWith("'")) && raw.slice(1, -1) === node.value) return offset + 1;
    return 0;
  }
}
