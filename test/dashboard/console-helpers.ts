import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createEngine } from '../../src/app.js';
import { dashboardPlugin } from '../../src/dashboard/index.js';
import { addUser, type Role } from '../../src/dashboard/users.js';
import { MemoryTransport } from '../../src/delivery/memory.js';
import type { Engine } from '../../src/engine/engine.js';
import { buildServer, listen } from '../../src/server/index.js';
import { sequencesDir, writeConfig } from '../worker/fixture.js';

export const SECRET = 'test-secret-0123456789abcdef';
export const TOKEN = 'dashboard-viewer-token-0123456789';
export const PASSWORDS: Record<Role, string> = {
  viewer: 'viewer-password-1234',
  operator: 'operator-password-1234',
  admin: 'admin-password-123456',
};

/** A dashboard over a fresh database with the one-step `blast` sequence and a user per role. */
export async function startConsole(database: string) {
  const config = {
    database,
    secret: SECRET,
    sequencesDir: sequencesDir(),
    dashboard: { token: TOKEN },
    sender: { name: 'Tea & Co', from: 'hello@tea.example', postalAddress: 'Tea & Co GmbH, Hafenstr. 1, 20457 Hamburg' },
  };
  const engine: Engine = await createEngine(config, {
    transport: new MemoryTransport(),
    logger: pino({ level: 'silent' }),
  });
  const by = { name: 'setup', via: 'cli' as const };
  for (const role of ['viewer', 'operator', 'admin'] as const)
    await addUser(
      engine.ctx.k,
      { username: role === 'operator' ? 'olga' : role === 'viewer' ? 'vera' : 'ada', role, password: PASSWORDS[role] },
      Date.now(),
      by,
    );
  const app = await buildServer({ engine, plugins: [dashboardPlugin()] });
  const { url } = await listen(app, { host: '127.0.0.1', port: 0 });
  return {
    engine,
    app,
    url,
    configFile: writeConfig(config),
    close: async () => (await app.close(), await engine.close()),
  };
}

/** A browser-like HTTP client: keeps cookies, sends the Origin of the dashboard on POST. */
export class Client {
  readonly cookies = new Map<string, string>();
  constructor(
    readonly base: string,
    readonly origin = base,
  ) {}

  async request(
    path: string,
    init: { method?: string; form?: Record<string, string | string[]>; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: string; location: string | null }> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(init.form)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
      body = p.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      if (this.origin && !('origin' in headers)) headers.origin = this.origin;
    }
    const res = await fetch(`${this.base}${path}`, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const value = pair!.slice(i + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(pair!.slice(0, i));
      else this.cookies.set(pair!.slice(0, i), value);
    }
    return { status: res.status, body: await res.text(), location: res.headers.get('location') };
  }

  /** The CSRF token of the form on a page. */
  static csrf(html: string): string {
    const m = html.match(/name="_csrf" value="([^"]+)"/);
    if (!m) throw new Error(`no CSRF token in ${html.slice(0, 300)}`);
    return m[1]!.replace(/&amp;/g, '&');
  }

  /** Logs in through the form; returns the status of the POST. */
  async login(username: string, password: string): Promise<number> {
    const page = await this.request('/dashboard/login');
    const r = await this.request('/dashboard/login', { form: { _csrf: Client.csrf(page.body), username, password } });
    return r.status;
  }

  /** Opens a confirm page and submits its form with `form` added. */
  async confirm(
    path: string,
    action: string,
    form: Record<string, string | string[]>,
  ): Promise<{ status: number; body: string; preview: string }> {
    const page = await this.request(path);
    if (page.status !== 200) return { status: page.status, body: page.body, preview: '' };
    const hidden = Object.fromEntries(
      [...page.body.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [
        m[1]!,
        m[2]!.replace(/&amp;/g, '&'),
      ]),
    );
    const r = await this.request(action, { form: { ...hidden, ...form } });
    return { ...r, preview: page.body };
  }
}

/** A password file for `comeback users add --password-file`. */
export function passwordFile(password: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'comeback-pw-')), 'pw');
  writeFileSync(file, `${password}\n`);
  return file;
}
