import { afterEach, describe, expect, it } from 'vitest';
import { TokenSigner } from '../../src/tracking/tokens.js';
import { PIXEL_GIF } from '../../src/server/index.js';
import { dialects } from '../helpers/backends.js';
import { events, get, seedMessage, SECRET, startServer, UA, type TestServer } from './helpers.js';

/** Flips one character of the MAC part of a token. */
function alterMac(token: string): string {
  const at = token.length - 3;
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

describe.each(dialects)('open pixel and click links over HTTP on $name', ({ url }) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  async function server() {
    s = await startServer({ database: await url() });
    return s;
  }

  it('answers the pixel with a 1×1 GIF and no-cache headers and records a human open', async () => {
    const s = await server();
    const { messageId } = await seedMessage(s);
    const res = await get(s, `/o/${s.engine.ctx.signer.sign({ purpose: 'open', id: messageId })}.gif`, {
      'user-agent': UA.iphoneMail,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('cache-control')).toContain('no-store');
    expect(res.headers.get('cache-control')).toContain('no-cache');
    expect(res.headers.get('pragma')).toBe('no-cache');
    const gif = Buffer.from(await res.arrayBuffer());
    expect(gif.subarray(0, 6).toString()).toBe('GIF89a');
    expect(gif.readUInt16LE(6)).toBe(1); // width
    expect(gif.readUInt16LE(8)).toBe(1); // height
    await s.flush();
    const rows = await events(s);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ message_id: messageId, type: 'open', machine: 0, source: 'pixel' });
  });

  it('answers forged, altered and unknown pixel tokens with the GIF and writes nothing', async () => {
    const s = await server();
    const { messageId } = await seedMessage(s);
    const good = s.engine.ctx.signer.sign({ purpose: 'open', id: messageId });
    const otherKey = new TokenSigner('another-secret-0123456789').sign({ purpose: 'open', id: messageId });
    const otherId = good.replace(/^o[0-9a-z]+/, `o${(messageId + 1).toString(36)}`);
    const unknown = s.engine.ctx.signer.sign({ purpose: 'open', id: 999_999 });
    const clickToken = s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index: 0 });
    for (const token of [alterMac(good), otherKey, otherId, unknown, clickToken, 'garbage', '']) {
      const res = await get(s, `/o/${token}.gif`, { 'user-agent': UA.iphoneMail });
      expect(res.status, token).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/gif');
      expect(Buffer.from(await res.arrayBuffer())).toEqual(PIXEL_GIF);
    }
    await s.flush();
    expect(await events(s)).toHaveLength(0);
  });

  it('redirects a click with 307 to the target stored with the message, UTM parameters kept', async () => {
    const s = await server();
    const target = 'https://shop.example.com/new?utm_source=comeback&utm_medium=email&utm_campaign=winback-lapsed';
    const { messageId } = await seedMessage(s, { links: [target, 'https://shop.example.com/sale'] });
    const res = await get(s, `/c/${s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index: 0 })}`, {
      'user-agent': UA.chromeMac,
    });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe(target);
    const second = await get(s, `/c/${s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index: 1 })}`, {
      'user-agent': UA.chromeMac,
    });
    expect(second.headers.get('location')).toBe('https://shop.example.com/sale');
    await s.flush();
    const rows = await events(s);
    expect(rows.map((r) => [r.type, r.link_index])).toEqual([
      ['click', 0],
      ['click', 1],
    ]);
  });

  it('never redirects to a URL that is not stored with the message', async () => {
    const s = await server();
    const { messageId } = await seedMessage(s, { links: ['https://shop.example.com/a'] });
    const signer = s.engine.ctx.signer;
    const good = signer.sign({ purpose: 'click', id: messageId, index: 0 });
    // Whatever the request carries, the answer is the stored target or a 404.
    for (const path of [
      `/c/${good}?url=https://evil.example`,
      `/c/${good}?redirect=https%3A%2F%2Fevil.example`,
      `/c/${good}/https://evil.example`,
    ]) {
      const res = await get(s, path, { 'user-agent': UA.chromeMac });
      if (res.status === 307) expect(res.headers.get('location')).toBe('https://shop.example.com/a');
      else expect(res.status).toBe(404);
    }
    const forged = [
      alterMac(good),
      signer.sign({ purpose: 'click', id: messageId, index: 1 }), // an index the message does not have
      signer.sign({ purpose: 'open', id: messageId }), // a token for another purpose
      new TokenSigner('another-secret-0123456789').sign({ purpose: 'click', id: messageId, index: 0 }),
      good.replace('-0.', '-1.'), // index changed, MAC kept
      'https%3A%2F%2Fevil.example',
    ];
    await s.flush();
    const before = (await events(s)).length;
    for (const token of forged) {
      const res = await get(s, `/c/${token}`, { 'user-agent': UA.chromeMac });
      expect(res.status, token).toBe(404);
      expect(res.headers.get('location')).toBeNull();
    }
    await s.flush();
    expect(await events(s)).toHaveLength(before);
  });

  it('accepts tokens of the previous key during rotation and refuses them once it is removed', async () => {
    const old = new TokenSigner('old-secret-0123456789abcdef');
    s = await startServer({ database: await url(), config: { secret: [SECRET, 'old-secret-0123456789abcdef'] } });
    const { messageId } = await seedMessage(s);
    const res = await get(s, `/c/${old.sign({ purpose: 'click', id: messageId, index: 0 })}`, {
      'user-agent': UA.chromeMac,
    });
    expect(res.status).toBe(307);
    expect(s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index: 0 })).not.toBe(
      old.sign({ purpose: 'click', id: messageId, index: 0 }),
    );
    const database = s.engine.ctx.config.database;
    await s.close();
    s = await startServer({ database, config: { secret: SECRET } });
    const after = await get(s, `/c/${old.sign({ purpose: 'click', id: messageId, index: 0 })}`, {
      'user-agent': UA.chromeMac,
    });
    expect(after.status).toBe(404);
  });

  it('keeps personal data out of tracking URLs', async () => {
    const s = await server();
    const { messageId } = await seedMessage(s, { email: 'anna.secret@example.com' });
    const urls = s.engine.ctx.urls;
    for (const u of [
      urls.open(messageId),
      urls.click(messageId, 0),
      urls.unsubscribe(messageId),
      urls.view(messageId),
      urls.reason(messageId, 3),
    ]) {
      expect(u).not.toMatch(/anna|secret|example\.com/i);
      expect(u).toMatch(/^http:\/\/track\.test\/[ocuvr]\/[0-9a-z-]+\.[A-Za-z0-9_-]{22}(\.gif)?$/);
    }
  });
});
