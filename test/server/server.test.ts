import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/index.js';
import { events, get, seedMessage, startServer, UA, type TestServer } from './helpers.js';

/** A route plugin the way the dashboard adds itself: options carry the engine, `app.comeback` the rest. */
const dashboard: FastifyPluginAsync<{ engine: Engine }> = async (app, options) => {
  app.get('/dashboard/ping', async () => ({
    ok: true,
    sameEngine: options.engine === app.comeback.engine,
    pending: app.comeback.writer.pendingCount,
  }));
};

describe('server basics', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({
      server: {
        plugins: [dashboard, { plugin: async (app) => app.get('/hello', async () => 'hi'), prefix: '/extra' }],
      },
    });
  });
  afterAll(() => s.close());

  it('answers /healthz when the database answers', async () => {
    const res = await get(s, '/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });

  it('answers /healthz with 503 when the database does not answer', async () => {
    const down = await startServer();
    try {
      await down.engine.close(); // the connection is gone, the server still listens
      const res = await get(down, '/healthz');
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'unavailable' });
    } finally {
      await down.app.close();
    }
  });

  it('serves Prometheus metrics with events by verdict and rejected tokens', async () => {
    const { messageId } = await seedMessage(s);
    await get(s, `/o/${s.engine.ctx.signer.sign({ purpose: 'open', id: messageId })}.gif`, {
      'user-agent': 'Mozilla/5.0',
    });
    await get(s, `/c/${s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index: 0 })}`, {
      'user-agent': UA.chromeMac,
    });
    await get(s, '/c/forged.AAAAAAAAAAAAAAAAAAAAAA');
    await s.flush();
    const res = await get(s, '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('comeback_tracking_events_total{type="open",verdict="machine"} 1');
    expect(text).toContain('comeback_tracking_events_total{type="click",verdict="human"} 1');
    expect(text).toContain('comeback_tracking_rejected_total{route="click"} 1');
    expect(text).toMatch(/comeback_event_rows_written_total \d+/);
    expect(text).toContain('comeback_http_request_duration_seconds_bucket');
    expect(text).toContain('comeback_process_cpu_seconds_total');
  });

  it('mounts route plugins with the engine', async () => {
    const res = await get(s, '/dashboard/ping');
    expect(await res.json()).toMatchObject({ ok: true, sameEngine: true });
    expect(await (await get(s, '/extra/hello')).text()).toBe('hi');
  });

  it('refuses forged web view tokens and pages for unknown tokens with 404 and no write', async () => {
    await s.flush();
    const before = (await events(s)).length;
    for (const path of [
      '/v/v1.AAAAAAAAAAAAAAAAAAAAAA',
      '/u/u1.AAAAAAAAAAAAAAAAAAAAAA',
      '/r/r1-1.AAAAAAAAAAAAAAAAAAAAAA',
      '/c/nonsense',
    ]) {
      const res = await get(s, path, { 'user-agent': UA.chromeMac });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    await s.flush();
    expect((await events(s)).length).toBe(before);
  });
});
