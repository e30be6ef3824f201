/**
 * The SMTP sink of the send benchmark, run as a child process so it has a core of its own:
 * smtp-server on 127.0.0.1, accepts everything, counts messages and bytes. Sends `{ port }` to the
 * parent when listening and `{ count, bytes, cpuMs }` when asked with `'count'`.
 * Settings that matter for a local sink: no STARTTLS (nothing to encrypt on loopback), no reverse
 * DNS lookup per connection, no logger, and the data stream consumed without buffering.
 */
import { SMTPServer } from 'smtp-server';

let count = 0;
let bytes = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  disableReverseLookup: true,
  logger: false,
  maxClients: 1000,
  onData(stream, _session, callback) {
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    stream.on('end', () => {
      count++;
      callback(null, 'OK');
    });
  },
});
server.on('error', () => {});
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.server.address() as { port: number }).port }));
process.on('message', (m) => {
  if (m === 'count') {
    const u = process.cpuUsage();
    process.send?.({ count, bytes, cpuMs: (u.user + u.system) / 1000 });
  } else if (m === 'reset') {
    count = 0;
    bytes = 0;
  }
});
process.on('disconnect', () => process.exit(0));
