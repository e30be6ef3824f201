/** `1 order`, `2 orders`: a number with its noun (regular English plurals only). */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
