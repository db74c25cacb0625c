import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const SLUG = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** What {@link scaffoldConnector} wrote. */
export interface ScaffoldResult {
  directory: string;
  files: string[];
}

/** Which halves of a connector to generate: push (a signed webhook), pull (a cursor-paged sync with a check), or both. */
export interface ScaffoldModes {
  push: boolean;
  pull: boolean;
}

/**
 * `rapport connector:new <id> [--push] [--pull]`: writes `<pluginsDir>/<id>/` with a
 * connector (signed webhook, cursor-paged pull sync, or both: the default), a test
 * that runs the conformance suite (against a local fake API for pull), and a README.
 * The generated test passes as is.
 */
export function scaffoldConnector(id: string, pluginsDir: string, modes: ScaffoldModes = { push: true, pull: true }): ScaffoldResult {
  if (!modes.push && !modes.pull) throw new Error('a connector needs push, pull or both');
  if (!SLUG.test(id) || id.length > 64) throw new Error(`the connector id must be a lowercase slug such as "acme-helpdesk"; got "${id}"`);
  const directory = path.join(pluginsDir, id);
  if (existsSync(directory)) throw new Error(`${directory} already exists`);
  mkdirSync(directory, { recursive: true });
  const displayName = id
    .split('-')
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join(' ');
  const files: Record<string, string> = {
    'index.ts': keep(indexTemplate(id, displayName, modes), modes),
    [`${id}.test.ts`]: keep(testTemplate(modes), modes),
    'README.md': keep(readmeTemplate(id, displayName, modes), modes),
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(directory, name), content);
  return { directory, files: Object.keys(files).map((name) => path.join(directory, name)) };
}

function indexTemplate(id: string, displayName: string, modes: ScaffoldModes): string {
  return `import { z } from 'zod';
import {
  AuthenticationError, //#pull
  MalformedPayloadError, //#push
  WEBHOOK_SIGNATURE_HEADER, //#push
  deepestIssue, //#push
  defineConnector,
  endpoint, //#pull
  secret,
  verifyWebhookSignature, //#push
  type InteractionRecord,
} from '@rapport/connector-kit';

/** One event as the source sends it (webhook) and lists it (API). */
const eventSchema = z.object({
  id: z.string(),
  type: z.string(),
  email: z.string(),
  occurred_at: z.string(),
});
const pageSchema = z.object({ events: z.array(eventSchema), next_cursor: z.string().nullable() }); //#pull
type SourceEvent = z.output<typeof eventSchema>;

//#pull{
/** The cursor: where the next sync continues. Everything a run needs to resume is here. */
export type ${camel(id)}State = { cursor: string | null };
//#}

function toInteraction(event: SourceEvent): InteractionRecord {
  return {
    customer: { identifiers: [{ type: 'email', value: event.email }] },
    channel: 'web',
    type: event.type.toLowerCase().replace(/[^a-z0-9_.:-]/g, '_'),
    occurredAt: event.occurred_at,
    // The source's own id: a redelivery or a re-run sync is stored once.
    externalId: event.id,
  };
}

export default defineConnector({
  id: '${id}',
  apiVersion: 1,
  version: '0.1.0',
  displayName: '${displayName}',
  description: 'Events from ${displayName}: ${describeModes(modes)}.',
  config: z.object({
    baseUrl: endpoint(z.url()).describe('API root'), //#pull
    apiKey: secret(z.string().min(8)).describe('API key'), //#pull
    signingSecret: secret(z.string().min(8)).describe('Webhook signing secret'), //#push
    pageSize: z.int().min(1).max(500).default(100), //#pull
  }),
  http: { timeoutMs: 30_000, rateLimit: { requests: 10, intervalMs: 1_000 }, retry: { maxRetries: 3 } }, //#pull

//#pull{
  check: async (ctx) => {
    const response = await ctx.http.request(new URL('/me', ctx.config.baseUrl).href, { headers: { authorization: \`Bearer \${ctx.config.apiKey}\` }, signal: ctx.signal });
    if (response.status === 401 || response.status === 403) throw new AuthenticationError('${displayName} refused the API key');
  },

  sync: async (ctx, state: Readonly<${camel(id)}State> | undefined) => {
    const api = ctx.http.withDefaults({ baseUrl: ctx.config.baseUrl, headers: { authorization: \`Bearer \${ctx.config.apiKey}\` } });
    const page = await api.getJson('/events', { schema: pageSchema, query: { after: state?.cursor ?? undefined, limit: ctx.config.pageSize }, signal: ctx.signal });
    const last = page.events[page.events.length - 1];
    return {
      batch: { interactions: page.events.map(toInteraction) },
      // Caught up: keep the last event seen, so the next run asks only for newer ones.
      nextState: { cursor: page.next_cursor ?? last?.id ?? state?.cursor ?? null },
      hasMore: page.next_cursor !== null,
    };
  },

//#}
//#push{
  webhook: {
    // context.now() is the clock: Rapport's, or the conformance suite's fake one, so tests sign at a fixed time.
    verify: (request, config, context) =>
      verifyWebhookSignature({ secret: config.signingSecret, body: request.rawBody, header: request.headers[WEBHOOK_SIGNATURE_HEADER], now: context?.now() }).ok,
    parse: (request) => {
      let json: unknown;
      try {
        json = JSON.parse(request.body);
      } catch {
        throw new MalformedPayloadError('the body is not JSON');
      }
      const event = eventSchema.safeParse(json);
      if (!event.success) {
        // The deepest issue names the field at fault, also inside a union (where zod's first issue is "Invalid input" at the root).
        const issue = deepestIssue(event.error.issues);
        throw new MalformedPayloadError(issue?.message ?? 'the event does not have the expected shape', { path: issue?.path });
      }
      return { interactions: [toInteraction(event.data)] };
    },
  },

//#}
});
`;
}

function testTemplate(modes: ScaffoldModes): string {
  return `//#pull{
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
//#}
import { DEFAULT_FAKE_NOW, createWebhookRequest, runConformanceSuite } from '@rapport/connector-kit/testing'; //#push
import { runConformanceSuite } from '@rapport/connector-kit/testing'; //#pullonly
import connector from './index';

/** A local stand-in for the source's API: bearer key, cursor pages. */
const EVENTS = ['e1', 'e2', 'e3', 'e4', 'e5'].map((id, i) => ({ id, type: 'page_view', email: \`user\${i % 2}@example.com\`, occurred_at: \`2024-05-0\${i + 1}T10:00:00Z\` }));
//#pull{
let server: Server;
let baseUrl = '';

beforeAll(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.headers.authorization !== 'Bearer test-api-key') return send(401, { error: 'bad key' });
    if (url.pathname === '/me') return send(200, { ok: true });
    if (url.pathname !== '/events') return send(404, { error: 'not found' });
    const after = url.searchParams.get('after');
    const limit = Number(url.searchParams.get('limit') ?? '100');
    const start = after === null ? 0 : EVENTS.findIndex((event) => event.id === after) + 1;
    const events = EVENTS.slice(start, start + limit);
    send(200, { events, next_cursor: start + limit < EVENTS.length ? events[events.length - 1].id : null });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = \`http://127.0.0.1:\${(server.address() as AddressInfo).port}\`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

//#}
const config = {
  baseUrl: 'http://127.0.0.1:1', //#pull
  apiKey: 'test-api-key', //#pull
  signingSecret: 'whsec_test_secret', //#push
  pageSize: 2, //#pull
};
const liveConfig = () => ({ ...config, baseUrl }); //#pull

runConformanceSuite(connector, {
//#pull{
  // The fake API listens on loopback, which ctx.http refuses unless the test allowlists it.
  egress: { allowedHosts: ['127.0.0.1'] },
//#}
  validConfigs: [config],
  invalidConfigs: [
    { config: { ...config, baseUrl: 'not a url' }, field: 'baseUrl' }, //#pull
    { config: { ...config, apiKey: undefined }, field: 'apiKey' }, //#pull
    { config: { ...config, signingSecret: 'short' }, field: 'signingSecret' }, //#push
  ],
  secretFields: [${[...(modes.pull ? ["'apiKey'"] : []), ...(modes.push ? ["'signingSecret'"] : [])].join(', ')}],
  check: { config: liveConfig, rejectedConfig: () => ({ ...liveConfig(), apiKey: 'revoked-api-key' }) }, //#pull
//#push{
  webhookSamples: [
    {
      name: 'page view',
      // Signed at the suite's fake time: verify checks the replay window against the clock it is given.
      request: () => createWebhookRequest({ body: EVENTS[0], sign: { secret: config.signingSecret, timestamp: DEFAULT_FAKE_NOW } }),
      expectedInteractions: [{ type: 'page_view', externalId: 'e1' }],
    },
  ],
  webhookRejections: [{ name: 'an unsigned request', request: createWebhookRequest({ body: EVENTS[0] }) }],
//#}
  syncScenario: { config: liveConfig, expectedExternalIds: EVENTS.map((event) => event.id) }, //#pull
});
`;
}

function readmeTemplate(id: string, displayName: string, modes: ScaffoldModes): string {
  return `# ${displayName} connector (\`${id}\`)

Events from ${displayName}, ${describeModes(modes)}, every event stored once by its id.
Push: signed webhooks (\`POST /hooks/<connectionId>\`, header //#push
\`x-rapport-signature: t=<unix seconds>,v1=<HMAC-SHA256 hex of "<t>.<body>">\`). //#push
Pull: its API (\`GET /events?after=<cursor>&limit=<n>\`). //#pull

## Config

| field | | |
| --- | --- | --- |
| \`baseUrl\` | URL | API root | //#pull
| \`apiKey\` | secret | API key | //#pull
| \`signingSecret\` | secret | webhook signing secret | //#push
| \`pageSize\` | integer, default 100 | events per request | //#pull

## Test

\`\`\`sh
npx jest plugins/${id}
\`\`\`

See docs/connectors.md for the contract, the test kit and publishing the connector as a package.
`;
}

/** Keeps the template lines of the chosen modes: a line ending in `//#push` or `//#pull` (or `//#pullonly`: pull without push), or a block between `//#push{` / `//#pull{` and `//#}`. */
function keep(text: string, modes: ScaffoldModes): string {
  const wanted = (tag: string) => (tag === 'push' ? modes.push : tag === 'pull' ? modes.pull : tag === 'pullonly' ? modes.pull && !modes.push : true);
  const out: string[] = [];
  let block: string | undefined;
  for (const line of text.split('\n')) {
    const open = /^\/\/#(\w+)\{$/.exec(line);
    if (open) {
      block = open[1];
      continue;
    }
    if (line === '//#}') {
      block = undefined;
      continue;
    }
    if (block !== undefined && !wanted(block)) continue;
    const tagged = / \/\/#(\w+)$/.exec(line);
    if (tagged) {
      if (wanted(tagged[1])) out.push(line.slice(0, tagged.index));
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}

function describeModes(modes: ScaffoldModes): string {
  if (modes.push && modes.pull) return 'pushed by signed webhooks and pulled from its API';
  return modes.push ? 'pushed by signed webhooks' : 'pulled from its API';
}

function camel(id: string): string {
  return id
    .split('-')
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('');
}
