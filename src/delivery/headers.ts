import { TemplateError } from '../errors.js';

/** Refuses header values with CR or LF: they would let data inject headers. */
export function assertHeaderSafe(name: string, value: string): void {
  if (/[\r\n]/.test(value)) throw new TemplateError(`header ${name} contains a line break (header injection refused)`);
}
