/**
 * The studio's HTTP side: a fastify app with the page, the client bundle and a small JSON API over
 * a `StudioSession`. Every request passes the guard (token, Host, Origin) first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { ComebackError, NotFoundError, TemplateError, ValidationError } from '../errors.js';
import { sequenceJsonSchema } from '../sequences/json-schema.js';
import { BYTES } from '../util/limits.js';
import { StudioError } from './files.js';
import { addStepAfter, setStepWait, setVersion } from './cst-edit.js';
import { guardHook } from './guard.js';
import { studioPage } from './page.js';
import { SeedListError } from './test-send.js';
import type { StudioSession } from './session.js';

/** Where `npm run build` puts the browser bundle (CodeMirror and the studio's client code). */
export function clientBundleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'studio-client');
}

type Body = Record<string, unknown>;

function str(body: Body, key: string, required = true): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw new StudioError(400, `missing "${key}"`);
    return undefined;
  }
  if (typeof v !== 'string') throw new StudioError(400, `"${key}" must be a text`);
  return v;
}

/** Builds the studio app (not listening). `hosts` is filled in once the port is known. */
export async function buildStudioServer(
  session: StudioSession,
  token: string,
  hosts: Set<string>,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: BYTES.studioRequest, routerOptions: { ignoreTrailingSlash: true } });
  app.addHook('onRequest', guardHook(token, hosts));
  app.addHook('onSend', async (_req, reply, payload) => {
    reply
      .header('cache-control', 'no-store')
      .header('x-frame-options', 'DENY')
      .header('x-content-type-options', 'nosniff');
    return payload;
  });
  app.setErrorHandler((err, _req, reply) => {
    const e = err as Error & { statusCode?: number };
    const status =
      e instanceof StudioError
        ? e.status
        : e instanceof SeedListError
          ? 400
          : e instanceof NotFoundError
            ? 404
            : e instanceof ValidationError || e instanceof TemplateError
              ? 422
              : e instanceof ComebackError
                ? 400
                : (e.statusCode ?? 500);
    void reply.code(status).send({
      error: status >= 500 ? 'internal' : 'refused',
      message: status >= 500 && !(e instanceof ComebackError) ? `unexpected error: ${e.message}` : e.message,
    });
  });
  const bundle = clientBundleDir();

  app.get('/', async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-src 'self' data: about:; frame-ancestors 'none'",
      )
      .send(studioPage(token)),
  );
  app.get('/assets/:name', async (req, reply) => {
    const name = (req.params as { name: string }).name;
    if (!/^studio\.(js|css)$/.test(name)) return reply.code(404).send({ error: 'not_found', message: name });
    const file = join(bundle, name);
    if (!existsSync(file))
      return reply.code(500).send({ error: 'not_built', message: `${file} is missing: run npm run build` });
    return reply
      .type(name.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8')
      .send(readFileSync(file));
  });

  app.get('/api/schema', async () => sequenceJsonSchema());
  app.get('/api/files', async () => ({
    files: session.files.list(),
    seedList: session.engine.ctx.config.seedList,
    locales: ['de', 'en'],
  }));
  app.get('/api/file', async (req) => {
    const file = session.files.read(str(req.query as Body, 'path')!);
    return { ...file, version: file.kind === 'sequence' ? await session.versionNote(file.text, file.path) : null };
  });
  app.post('/api/validate', async (req) => {
    const b = req.body as Body;
    const path = str(b, 'path')!;
    const text = str(b, 'text')!;
    return { problems: await session.validate(path, text), flow: session.flow(path, text) };
  });
  app.post('/api/save', async (req) => {
    const b = req.body as Body;
    const base = b.baseHash === null ? null : str(b, 'baseHash')!;
    return session.save(str(b, 'path')!, str(b, 'text')!, base);
  });
  app.post('/api/edit/wait', async (req) => {
    const b = req.body as Body;
    const index = Number(b.stepIndex);
    if (!Number.isInteger(index) || index < 0) throw new StudioError(400, '"stepIndex" must be a step number from 0');
    return { text: setStepWait(str(b, 'text')!, index, str(b, 'wait')!) };
  });
  app.post('/api/edit/add-step', async (req) => {
    const b = req.body as Body;
    const index = Number(b.stepIndex);
    if (!Number.isInteger(index) || index < 0) throw new StudioError(400, '"stepIndex" must be a step number from 0');
    return addStepAfter(str(b, 'text')!, index);
  });
  app.post('/api/edit/version', async (req) => {
    const b = req.body as Body;
    return { text: setVersion(str(b, 'text')!, Number(b.version)) };
  });
  app.get('/api/preview', async (req) => {
    const q = req.query as Body;
    return session.preview(str(q, 'path')!, str(q, 'step')!, {
      customer: str(q, 'customer', false) || undefined,
      locale: str(q, 'locale', false) || undefined,
      variant: str(q, 'variant', false) || undefined,
    });
  });
  app.get('/api/customers', async (req) => ({ customers: await session.customers(str(req.query as Body, 'q')!) }));
  app.post('/api/test-send', async (req) => {
    const b = req.body as Body;
    const sent = await session.sendTest(str(b, 'path')!, {
      step: str(b, 'step')!,
      customer: str(b, 'customer', false) || undefined,
      locale: str(b, 'locale', false) || undefined,
      variant: str(b, 'variant', false) || undefined,
      to: str(b, 'to', false) || undefined,
    });
    return { sent };
  });
  app.post('/api/forecast', async (req) => {
    const b = req.body as Body;
    return session.forecast(str(b, 'path')!, str(b, 'text', false));
  });
  app.get('/api/stats', async (req) => {
    const id = str(req.query as Body, 'sequence')!;
    // A sequence the engine has not loaded (a new file, one with problems) has no figures yet.
    const report = await session.engine.report({ sequence: id }).catch((err: unknown) => {
      if (err instanceof NotFoundError) return null;
      throw err;
    });
    return { sequence: report?.sequences.find((s) => s.sequenceId === id) ?? null };
  });
  return app;
}
