/** The read batcher behind the send path's claims (src/util/batcher.ts). */
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/util/batcher.js';

/** A batcher that records each fetch and doubles the keys; `slow` makes a fetch take that long. */
function recording(options: { maxBatch: number; lingerMs: number }, slow = 0) {
  const fetches: number[][] = [];
  const b = new Batcher<number, number>(async (keys) => {
    fetches.push(keys);
    if (slow) await new Promise((r) => setTimeout(r, slow));
    return new Map(keys.filter((k) => k >= 0).map((k) => [k, k * 2]));
  }, options);
  return { b, fetches };
}

describe('Batcher', () => {
  it('keys asked for in one moment share one fetch; a key the fetch does not return resolves undefined', async () => {
    const { b, fetches } = recording({ maxBatch: 10, lingerMs: 0 });
    expect(await Promise.all([b.load(1), b.load(2), b.load(-1)])).toEqual([2, 4, undefined]);
    expect(fetches).toEqual([[1, 2, -1]]);
  });

  it('keys arriving one by one within the linger join the first one', async () => {
    // A linger no busy machine outlasts; the second key fills the batch, so nobody waits for it.
    const { b, fetches } = recording({ maxBatch: 2, lingerMs: 600_000 });
    const first = b.load(1);
    await new Promise((r) => setTimeout(r, 5));
    const second = b.load(2);
    expect(await Promise.all([first, second])).toEqual([2, 4]);
    expect(fetches).toEqual([[1, 2]]);
  });

  it('a full batch is fetched at once; keys asked for during a fetch go into the next one', async () => {
    // A linger of 10 minutes, beyond the test's timeout: that the loads resolve at all shows a full batch never waits for it.
    const { b, fetches } = recording({ maxBatch: 3, lingerMs: 600_000 }, 20);
    const all = [1, 2, 3, 4, 5, 6].map((k) => b.load(k));
    expect(await Promise.all(all)).toEqual([2, 4, 6, 8, 10, 12]);
    expect(fetches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('a failing fetch rejects its own keys only', async () => {
    let calls = 0;
    const b = new Batcher<number, number>(
      async (keys) => {
        if (calls++ === 0) throw new Error('connection lost');
        return new Map(keys.map((k) => [k, k]));
      },
      { maxBatch: 2, lingerMs: 0 },
    );
    const failed = [b.load(1), b.load(2)];
    const later = b.load(3);
    for (const p of failed) await expect(p).rejects.toThrow('connection lost');
    expect(await later).toBe(3);
  });
});
