/**
 * The demo's example app: a small HTTP server using FlagSync the usual way. `GET /register` serves
 * the register button copy (evaluated in a handler span below the server span, which renders for
 * `renderMs`) and tracks page_load_time; `POST /purchase` tracks purchase_event. Server spans are
 * started by hand here, as an HTTP instrumentation would; the demo derives an event from them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

export interface DemoFlagClient {
  flag(
    context: { key: string; attributes?: Record<string, unknown> },
    flagKey: string,
    defaultValue?: unknown,
  ): unknown;
  track(
    context: { key: string; attributes?: Record<string, unknown> },
    eventKey: string,
    value?: number | null,
    properties?: Record<string, unknown>,
  ): void;
}

export async function startDemoApp(client: DemoFlagClient): Promise<{ url: string; close(): Promise<void> }> {
  const tracer = trace.getTracer('flagsync-otel-demo-app');
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    const user = {
      key: url.searchParams.get('user') ?? 'anonymous',
      attributes: { plan: url.searchParams.get('plan') ?? 'free' },
    };
    tracer.startActiveSpan(`${req.method} ${url.pathname}`, { kind: SpanKind.SERVER }, async (span) => {
      try {
        if (req.method === 'GET' && url.pathname === '/register') {
          const copy = await tracer.startActiveSpan('render register page', async (handler) => {
            const served = client.flag(user, 'register-button-copy', 'Register');
            // The "Join Now" page carries a heavier hero image: the experiment shows it in server time.
            await new Promise((r) =>
              setTimeout(r, Number(url.searchParams.get('renderMs') ?? 0) + (served === 'Join Now' ? 6 : 0)),
            );
            handler.end();
            return served;
          });
          client.track(user, 'page_load_time', Number(url.searchParams.get('loadMs') ?? 0));
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(`<button>${String(copy)}</button>`);
        } else if (req.method === 'POST' && url.pathname === '/purchase') {
          const price = Number(url.searchParams.get('price') ?? 0);
          client.track(user, 'purchase_event', null, {
            price,
            currency: 'USD',
            coupon: price > 50 ? 'SPRING' : null,
            items: [{ sku: 'PRO-1', qty: 1 }],
          });
          res.writeHead(204).end();
        } else {
          res.writeHead(404).end();
        }
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        res.writeHead(500).end(String(error));
      } finally {
        span.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
