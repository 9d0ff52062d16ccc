/** A stand-in for the team's usual tracing backend: accepts OTLP/HTTP and keeps the decoded bodies. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface OtlpSink {
  url: string;
  /** Bodies received on /v1/traces, decompressed, as latin1 text (protobuf strings are readable in it). */
  traceBodies: string[];
  /** Likewise for /v1/logs. */
  logBodies: string[];
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  const traceBodies: string[] = [];
  const logBodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = () => (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('latin1');
      if (req.url === '/v1/traces') traceBodies.push(text());
      if (req.url === '/v1/logs') logBodies.push(text());
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    traceBodies,
    logBodies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
