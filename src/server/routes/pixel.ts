import type { FastifyPluginAsync } from 'fastify';
import { shapeOf } from '../context.js';

/** A transparent 1×1 GIF (42 bytes). */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const HEADERS = {
  'content-type': 'image/gif',
  'cache-control': 'no-store, no-cache, must-revalidate, max-age=0, private',
  pragma: 'no-cache',
  expires: '0',
  'content-length': String(PIXEL_GIF.length),
};

/**
 * `GET|HEAD /o/<token>.gif`: the open pixel. Always answers the GIF with no-cache headers, also for
 * a forged or unknown token (then nothing is recorded) and when recording fails (then it is logged).
 */
export const pixelRoutes: FastifyPluginAsync = async (app) => {
  const { tracker, metrics } = app.comeback;
  app.get<{ Params: { file: string } }>('/o/:file', async (request, reply) => {
    const file = request.params.file;
    const token = file.endsWith('.gif') ? file.slice(0, -4) : file;
    try {
      if (!(await tracker.open(token, shapeOf(request)))) metrics.rejected.inc({ route: 'open' });
    } catch (err) {
      request.log.error({ err }, 'recording an open failed');
    }
    return reply.code(200).headers(HEADERS).send(PIXEL_GIF);
  });
};
