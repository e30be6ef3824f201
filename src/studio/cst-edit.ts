/**
 * Edits made from the flow graph (a step's wait, the version number), applied to the YAML text
 * through the yaml library's CST, so that everything else in the file stays byte for byte as it
 * was: comments, quoting, flow mappings, blank lines. (`parseDocument().toString()` would rewrite
 * many lines of a hand-written file even without an edit.)
 */
import { CST, Parser } from 'yaml';
import { isDuration } from '../sequences/duration.js';
import { StudioError } from './files.js';

type Item = CST.BlockMap['items'][number];

function documentMap(tokens: CST.Token[]): CST.BlockMap {
  const docs = tokens.filter((t): t is CST.Document => t.type === 'document');
  if (docs.length !== 1 || docs[0]!.value?.type !== 'block-map')
    throw new StudioError(409, 'the file is not a single YAML mapping: fix it in the editor first');
  return docs[0]!.value;
}

function keyOf(item: Item): string | undefined {
  return item.key && CST.isScalar(item.key) ? CST.resolveAsScalar(item.key)?.value : undefined;
}

/** The character offset of a key token (to place a new key under it). */
function columnOf(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

/**
 * Sets `steps[index].wait` to a duration. An existing plain or quoted scalar is replaced in place;
 * a step without `wait` gets the line `wait: VALUE` right after its `id` line, indented like it.
 */
export function setStepWait(text: string, index: number, wait: string): string {
  if (!isDuration(wait)) throw new StudioError(400, `expected a duration like 5d or 36h, got ${JSON.stringify(wait)}`);
  const tokens = [...new Parser().parse(text)];
  const steps = documentMap(tokens).items.find((i) => keyOf(i) === 'steps')?.value;
  if (steps?.type !== 'block-seq')
    throw new StudioError(409, 'steps is not a block list (- id: ...): change the wait in the editor');
  const step = steps.items[index]?.value;
  if (!step) throw new StudioError(404, `there is no step ${index + 1}`);
  if (step.type !== 'block-map')
    throw new StudioError(409, `step ${index + 1} is not written as a block mapping: change its wait in the editor`);
  const waitItem = step.items.find((i) => keyOf(i) === 'wait');
  if (waitItem) {
    if (!waitItem.value || !CST.isScalar(waitItem.value))
      throw new StudioError(409, `steps[${index}].wait is not a single value: change it in the editor`);
    CST.setScalarValue(waitItem.value, wait);
    return tokens.map((t) => CST.stringify(t)).join('');
  }
  const idItem = step.items.find((i) => keyOf(i) === 'id');
  if (!idItem?.key || !idItem.value || !CST.isScalar(idItem.value))
    throw new StudioError(409, `step ${index + 1} has no id line to put the wait under`);
  const end = idItem.value.offset + idItem.value.source.length;
  const lineEnd = text.indexOf('\n', end);
  const at = lineEnd < 0 ? text.length : lineEnd + 1;
  const newline = lineEnd < 0 ? '\n' : '';
  const eol = /\r\n/.test(text) ? '\r\n' : '\n';
  const indent = ' '.repeat(columnOf(text, (idItem.key as CST.FlowScalar).offset));
  return `${text.slice(0, at)}${newline}${indent}wait: ${wait}${eol}${text.slice(at)}`;
}

/** Sets the top-level `version` (the bump the studio offers when the loaded version was already used). */
export function setVersion(text: string, version: number): string {
  if (!Number.isInteger(version) || version < 1) throw new StudioError(400, 'expected a whole number from 1');
  const tokens = [...new Parser().parse(text)];
  const item = documentMap(tokens).items.find((i) => keyOf(i) === 'version');
  if (!item?.value || !CST.isScalar(item.value))
    throw new StudioError(409, 'the file has no version line: add `version: 2` in the editor');
  CST.setScalarValue(item.value, String(version));
  return tokens.map((t) => CST.stringify(t)).join('');
}

/**
 * Adds a step after `steps[index]`: a copy of that step's lines (template, subject, conditions, as
 * written) under a new id, so the file stays valid and every existing line stays as it was.
 */
export function addStepAfter(text: string, index: number): { text: string; id: string } {
  const tokens = [...new Parser().parse(text)];
  const steps = documentMap(tokens).items.find((i) => keyOf(i) === 'steps')?.value;
  if (steps?.type !== 'block-seq')
    throw new StudioError(409, 'steps is not a block list (- id: ...): add the step in the editor');
  const item = steps.items[index];
  const dash = item?.start.find((t) => t.type === 'seq-item-ind');
  if (!item || !dash || item.value?.type !== 'block-map')
    throw new StudioError(404, `there is no step ${index + 1} written as - id: ...`);
  const lineStart = text.lastIndexOf('\n', dash.offset - 1) + 1;
  const next = steps.items[index + 1]?.start.find((t) => t.type === 'seq-item-ind');
  let end: number;
  if (next) end = text.lastIndexOf('\n', next.offset - 1) + 1;
  else {
    end = Math.min(text.length, item.value.offset + CST.stringify(item.value).length);
    // The copy starts on a line of its own.
    if (end > 0 && text[end - 1] !== '\n')
      end = text.indexOf('\n', end) < 0 ? text.length : text.indexOf('\n', end) + 1;
  }
  const block = text.slice(lineStart, end);
  const idOf = (s: (typeof steps.items)[number]): string | undefined => {
    const pair = s.value?.type === 'block-map' ? s.value.items.find((i) => keyOf(i) === 'id') : undefined;
    return pair?.value && CST.isScalar(pair.value) ? CST.resolveAsScalar(pair.value)?.value : undefined;
  };
  const ids = steps.items.map(idOf);
  const original = ids[index] ?? 'step';
  let n = 2;
  while (ids.includes(`${original}-${n}`)) n++;
  const id = `${original}-${n}`;
  const eol = block.endsWith('\n') ? '' : '\n';
  const inserted = `${text.slice(0, end)}${eol}${block}${text.slice(end)}`;
  // Rename the copy through the CST, so only its id line differs from the step it copies.
  const again = [...new Parser().parse(inserted)];
  const copy = (documentMap(again).items.find((i) => keyOf(i) === 'steps')!.value as CST.BlockSequence).items[
    index + 1
  ]!.value as CST.BlockMap;
  const idItem = copy.items.find((i) => keyOf(i) === 'id');
  if (!idItem?.value || !CST.isScalar(idItem.value))
    throw new StudioError(409, `step ${index + 1} has no id line to copy`);
  CST.setScalarValue(idItem.value, id);
  return { text: again.map((t) => CST.stringify(t)).join(''), id };
}
