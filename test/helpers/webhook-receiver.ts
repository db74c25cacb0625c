import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a receiver got. */
export interface ReceivedWebhook {
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** Status the receiver answered. */
  status: number;
  at: number;
}

/** How the receiver answers a request on a path: a status, or a redirect. */
export type Answer = { status: number; body?: string; location?: string };

/** A local HTTP server standing for a customer's webhook receiver: records every request, answers as `answer` says. */
export interface WebhookReceiver {
  url: string;
  port: number;
  received: ReceivedWebhook[];
  /** Decides the answer to each request; replace it to change behaviour mid-test. */
  answer: (path: string, request: ReceivedWebhook) => Answer;
  close(): Promise<void>;
}

export async function startReceiver(answer: WebhookReceiver['answer'] = () => ({ status: 200, body: 'ok' })): Promise<WebhookReceiver> {
  const receiver = { received: [] as ReceivedWebhook[], answer } as WebhookReceiver;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const got: ReceivedWebhook = {
        path: new URL(request.url ?? '/', 'http://receiver').pathname,
        id: String(request.headers['webhook-id'] ?? ''),
        timestamp: String(request.headers['webhook-timestamp'] ?? ''),
        signature: String(request.headers['webhook-signature'] ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
        status: 0,
        at: Date.now(),
      };
      const reply = receiver.answer(got.path, got);
      got.status = reply.status;
      receiver.received.push(got);
      response.writeHead(reply.status, reply.location ? { location: reply.location } : { 'content-type': 'text/plain' }).end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  receiver.port = port;
  receiver.url = `http://127.0.0.1:${port}`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
