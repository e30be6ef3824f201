import { TemplateError } from '../errors.js';

/** Refuses header values with CR or LF: they would let data inject headers. */
export function assertHeaderSafe(name: string, value: string): void {
  if (/[\r\n]/.test(value)) throw new TemplateError(`header ${name} contains a line break (header injection refused)`);
}

/** The From header of every mail: `"Shop name" <address>` (quotes and backslashes dropped from the name). */
export function senderHeader(sender: { name: string; from: string }): string {
  return `"${sender.name.replace(/["\\]/g, '')}" <${sender.from}>`;
}
