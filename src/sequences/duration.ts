const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** True for durations like `30m`, `36h`, `5d`, `2w`. */
export function isDuration(text: string): boolean {
  return /^\d+(\.\d+)?[mhdw]$/.test(text);
}

/** Milliseconds of a duration like `5d`; throws RangeError on anything else. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([mhdw])$/.exec(text);
  if (!m) throw new RangeError(`expected a duration like 5d or 36h, got "${text}"`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}
