/**
 * What must be set before mails go to real people: the demo defaults are fine for the outbox, but
 * over SMTP or SendGrid they would sign links with a public key, name a shop that does not exist
 * and point the legally required unsubscribe link at the sender's own laptop.
 */
import { DEVELOPMENT_SECRET, SenderConfig, type EngineConfig } from './schema.js';

const DEMO_SENDER = SenderConfig.parse({});
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '0.0.0.0']);

/** True when the built-in development secret signs or verifies links (also when no secret is configured). */
export function usesDevelopmentSecret(secret: string | string[] | undefined): boolean {
  return secret === undefined || (Array.isArray(secret) ? secret : [secret]).includes(DEVELOPMENT_SECRET);
}

/** The fix for the development secret, for every command that refuses it. */
export const SECRET_FIX =
  'Set a long random `secret` in the config file or COMEBACK_SECRET (e.g. `openssl rand -base64 32`)';

/** True when the transport hands mails to a provider that delivers them to real mailboxes. */
export function deliversToPeople(config: EngineConfig): boolean {
  return config.transport.type === 'smtp' || config.transport.type === 'sendgrid';
}

/**
 * The settings that still carry a demo value although the transport delivers to real people,
 * one line each with its fix; empty when the configuration is ready (or the transport is the
 * outbox or memory).
 */
export function liveSendingProblems(config: EngineConfig): string[] {
  if (!deliversToPeople(config)) return [];
  const problems: string[] = [];
  if (usesDevelopmentSecret(config.secret)) {
    problems.push(
      `secret: the built-in development secret; anyone could forge tracking and unsubscribe links. ${SECRET_FIX}`,
    );
  }
  if (config.sender.from === DEMO_SENDER.from || config.sender.name === DEMO_SENDER.name) {
    problems.push(
      `sender.from / sender.name: still the demo shop ("${DEMO_SENDER.name}" <${DEMO_SENDER.from}>). Set your shop's name and an address of a domain you send for`,
    );
  }
  if (config.sender.postalAddress === DEMO_SENDER.postalAddress) {
    problems.push(
      "sender.postalAddress: still the demo shop's address; every marketing mail must carry your real postal address",
    );
  }
  const host = new URL(config.publicUrl).hostname.toLowerCase();
  if (LOOPBACK_HOSTS.has(host) || host.endsWith('.localhost')) {
    problems.push(
      `publicUrl: ${config.publicUrl} is this machine; recipients could not open the unsubscribe and tracking links. Set the address where \`comeback serve\` is reachable (COMEBACK_PUBLIC_URL or publicUrl)`,
    );
  }
  return problems;
}
