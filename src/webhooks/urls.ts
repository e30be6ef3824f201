import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import type { WebhookEndpoint } from '../config/schema.js';
import { ConfigError } from '../errors.js';

/** Addresses that reach this machine: loopback, unspecified and every interface's own. */
function ownAddresses(): Set<string> {
  const own = new Set(['0.0.0.0', '::', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) own.add(a.address);
  return own;
}

function isOwn(address: string, own: Set<string>): boolean {
  const plain = address.replace(/^::ffff:/, '');
  return own.has(plain) || plain.startsWith('127.');
}

/**
 * Refuses endpoints that would post customer events to this machine itself (a typo, or a URL
 * pointing at an internal service). URLs are checked by resolving their host, at start; `allowLocal`
 * (development, `--dev`) lets a local receiver through. The scheme is checked by the config schema.
 */
export async function checkWebhookUrls(endpoints: WebhookEndpoint[], allowLocal: boolean): Promise<void> {
  if (allowLocal || endpoints.length === 0) return;
  const own = ownAddresses();
  const problems: string[] = [];
  for (const [i, e] of endpoints.entries()) {
    const host = new URL(e.url).hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    try {
      addresses = (await lookup(host, { all: true })).map((a) => a.address);
    } catch {
      continue; // a receiver whose name does not resolve now is an outage: its events wait and are retried
    }
    const local = addresses.find((a) => isOwn(a, own));
    if (local)
      problems.push(
        `config.webhooks.${i}.url: ${host} resolves to this machine (${local}); webhooks go to other systems (webhookDelivery.allowLocal or --dev for a local test receiver)`,
      );
  }
  if (problems.length)
    throw new ConfigError(`refusing webhook endpoints:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}
