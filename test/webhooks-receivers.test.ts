import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CreateWebhookEndpointDocument, RecordInteractionsDocument, WebhookDeliveriesDocument } from './generated/graphql';
import { findFreePort } from '../src/infra/net';
import { generateSecret, signatureHeaders } from '../src/modules/webhooks';
import { eventually, startTestApp, type TestApp } from './helpers/app';

const REPO = path.join(__dirname, '..');

/** The code block that follows `<!-- example: <name> -->` in docs/realtime.md, as written there. */
function example(name: string): string {
  const doc = readFileSync(path.join(REPO, 'docs/realtime.md'), 'utf8');
  const match = new RegExp(`<!-- example: ${name.replace('.', '\\.')} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!match) throw new Error(`docs/realtime.md has no example ${name}`);
  return match[1]!;
}

interface Receiver {
  url: string;
  lines: string[];
  process: ChildProcessWithoutNullStreams;
}

/** Starts a receiver from the docs as its section says (`WEBHOOK_SECRET=… PORT=… <command> <file>`), once it answers. */
async function startExample(command: string, file: string, secret: string): Promise<Receiver> {
  const port = await findFreePort();
  const child = spawn(command, [file], { env: { ...process.env, WEBHOOK_SECRET: secret, PORT: String(port) } });
  const receiver: Receiver = { url: `http://127.0.0.1:${port}`, lines: [], process: child };
  let stderr = '';
  // Whole lines, not chunks: a pipe read may end mid-line. With PYTHONUNBUFFERED set (as in many CI and container
  // images), `print(a, b, c)` is several writes, and a read between two of them split the receiver's line in two.
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
    if (line) receiver.lines.push(line);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`${file} exited: ${stderr}`);
      await fetch(receiver.url, { method: 'POST', body: '{}' });
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return receiver;
}

async function stop(receiver: Receiver | undefined): Promise<void> {
  if (!receiver || receiver.process.exitCode !== null) return;
  const exited = new Promise((resolve) => receiver.process.once('exit', resolve));
  receiver.process.kill('SIGTERM');
  await exited;
}

const EXAMPLES = [
  { name: 'webhook-receiver.ts', command: path.join(REPO, 'node_modules/.bin/tsx') },
  { name: 'webhook-receiver.py', command: 'python3' },
];

describe.each(EXAMPLES)('the receiver of docs/realtime.md ($name)', ({ name, command }) => {
  let dir: string;
  let app: TestApp;
  let receiver: Receiver | undefined;
  const secret = generateSecret();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rapport-receiver-'));
    writeFileSync(path.join(dir, name), example(name));
    receiver = await startExample(command, path.join(dir, name), secret);
    app = await startTestApp({
      workers: true,
      env: {
        RAPPORT_SECRET_KEY: randomBytes(32).toString('base64'),
        RAPPORT_OUTBOX_DISPATCH_MS: '100',
        RAPPORT_WEBHOOK_ALLOWED_HOSTS: new URL(receiver.url).host,
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await stop(receiver);
    rmSync(dir, { recursive: true, force: true });
  });

  test("verifies Rapport's deliveries (204, each event handled once) and refuses a changed or unsigned body (401)", async () => {
    const created = await app.graphql(CreateWebhookEndpointDocument, {
      input: { url: `${receiver!.url}/hooks`, events: ['interaction.recorded'], secret },
    });
    expect(created.errors).toBeUndefined();
    const endpointId = created.data!.createWebhookEndpoint.endpoint.id;
    const recorded = await app.graphql(RecordInteractionsDocument, {
      input: ['one', 'two'].map((n) => ({
        customer: { identifiers: [{ type: 'email', value: `receiver.${n}@example.com` }] },
        channel: 'web',
        type: 'visit',
        occurredAt: '2026-11-02T09:00:00Z',
        source: 'receiver-test',
        externalId: `receiver-${n}`,
      })),
    });
    expect(recorded.data?.recordInteractions.accepted).toBe(2);
    const nodes = await eventually(async () => {
      const { data } = await app.graphql(WebhookDeliveriesDocument, { endpointId, first: 10 });
      const list = data!.webhookDeliveries.edges.map((e) => e.node);
      return list.length === 2 && list.every((n) => n.status === 'DELIVERED') ? list : undefined;
    });
    for (const node of nodes) {
      expect(node.attempts[0]!.statusCode).toBe(204);
      await eventually(async () => (receiver!.lines.some((line) => line.startsWith(`${node.eventId} interaction.recorded {`)) ? true : undefined));
    }

    // The same message again (a retry) is accepted and not handled twice; a changed body, an unsigned one, an old one are refused.
    const body = JSON.stringify(nodes[0]!.payload);
    const now = Math.floor(Date.now() / 1000);
    const post = (headers: Record<string, string>, text = body) =>
      fetch(`${receiver!.url}/hooks`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text }).then((r) => r.status);
    const signed = signatureHeaders([secret], nodes[0]!.eventId, now, body);
    expect(await post(signed)).toBe(204);
    expect(receiver!.lines.filter((line) => line.startsWith(`${nodes[0]!.eventId} `))).toHaveLength(1);
    expect(await post(signed, body.replace('"visit"', '"purchase"'))).toBe(401);
    expect(await post({ 'webhook-id': nodes[0]!.eventId, 'webhook-timestamp': String(now) })).toBe(401);
    expect(await post(signatureHeaders([secret], nodes[0]!.eventId, now - 600, body))).toBe(401);
    expect(await post(signatureHeaders([generateSecret()], nodes[0]!.eventId, now, body))).toBe(401);
    // During a rotation, a receiver holding the old secret verifies the two-signature header.
    expect(await post(signatureHeaders([generateSecret(), secret], '999999', now, body))).toBe(204);
  });
});
