/**
 * Remembers the last few clicks per message for a short window, so "several links of one message
 * at once" (what a link scanner does, and no person can) is seen without a database query.
 * Kept per server process: with several `comeback serve` processes behind a load balancer a burst
 * split across processes is not seen (the other rules still apply). Bounded in memory.
 */
export class ClickBursts {
  private readonly recent = new Map<number, { at: number; link: number }[]>();

  constructor(
    private readonly windowMs: number,
    private readonly maxMessages = 50_000,
  ) {}

  /**
   * Notes a click and returns how many distinct *other* links of the message were clicked within
   * the window before it, and the time of the earliest of them (to flag those clicks too).
   */
  note(messageId: number, link: number, at: number): { otherLinks: number; since: number } {
    if (this.windowMs <= 0) return { otherLinks: 0, since: at };
    let list = this.recent.get(messageId);
    if (list) {
      this.recent.delete(messageId); // re-insert below: the map's order is recency
      list = list.filter((c) => at - c.at <= this.windowMs);
    } else {
      list = [];
    }
    const others = new Set<number>();
    let since = at;
    for (const c of list) {
      if (c.link !== link) {
        others.add(c.link);
        if (c.at < since) since = c.at;
      }
    }
    list.push({ at, link });
    if (list.length > 16) list.splice(0, list.length - 16);
    this.recent.set(messageId, list);
    if (this.recent.size > this.maxMessages) this.recent.delete(this.recent.keys().next().value!);
    return { otherLinks: others.size, since };
  }
}
