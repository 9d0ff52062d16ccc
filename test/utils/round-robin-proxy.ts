/** A plain round-robin HTTP load balancer, as a team might put in front of several service instances. */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startRoundRobinProxy(backends: string[]): Promise<{ url: string; hits: number[]; close(): Promise<void> }> {
  let next = 0;
  const hits = backends.map(() => 0);
  const server: Server = createServer((req, res) => {
    const index = next++ % backends.length;
    hits[index]!++;
    const target = new URL(req.url ?? '/', backends[index]);
    const upstream = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    // A dead instance: answer 502, which the collector retries (and the next try goes elsewhere).
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
