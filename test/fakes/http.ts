import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** A local HTTP server of a fake shop API: a handler's failure answers 500 with its message. */
export async function listenLocal(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => void handle(req, res).catch((err) => res.writeHead(500).end(String(err))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

/** Stops a fake's server, dropping the connections clients keep alive. */
export function closeLocal(server: Server | undefined): Promise<void> {
  server?.closeAllConnections();
  return new Promise((r) => (server ? server.close(() => r()) : r()));
}
