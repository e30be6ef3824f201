export type { OutgoingMail, SendReceipt, Transport } from './types.js';
export { OutboxTransport } from './outbox.js';
export { MemoryTransport } from './memory.js';
export { composeEml, assertHeaderSafe, toNodemailer } from './compose.js';
export { createTransport } from './factory.js';
