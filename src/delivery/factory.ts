import type { TransportConfig } from '../config/schema.js';
import { MemoryTransport } from './memory.js';
import { OutboxTransport } from './outbox.js';
import type { Transport } from './types.js';

/** Builds the transport the config names. */
export async function createTransport(config: TransportConfig): Promise<Transport> {
  switch (config.type) {
    case 'outbox':
      return new OutboxTransport(config.dir);
    case 'memory':
      return new MemoryTransport();
    case 'smtp': {
      const { SmtpTransport } = await import('./smtp.js');
      return new SmtpTransport(config);
    }
    case 'sendgrid': {
      const { SendgridTransport } = await import('./sendgrid.js');
      return new SendgridTransport(config);
    }
  }
}
