import { createWebhookRequest, runConformanceSuite } from '@rapport/connector-kit/testing';
import webTracking, { eventType, identityHash } from './index';

const WRITE_KEY = 'wk_public_0123456789';
const IDENTITY_SECRET = 'ids_server_side_0123456789abcdef0123';
const config = { writeKey: WRITE_KEY };
const verifying = { writeKey: WRITE_KEY, identitySecret: IDENTITY_SECRET };
const at = '2024-05-01T12:00:00.000Z';
const page = {
  type: 'page',
  messageId: 'm-1',
  anonymousId: 'anon-1',
  name: 'Pricing',
  properties: { path: '/pricing', url: 'https://shop.example/pricing' },
  timestamp: at,
};
const track = { type: 'track', messageId: 'm-2', anonymousId: 'anon-1', event: 'Signed Up', properties: { plan: 'pro' }, timestamp: at };
const identify = {
  type: 'identify',
  messageId: 'm-3',
  anonymousId: 'anon-1',
  userId: 'u-42',
  traits: { email: 'ada@example.com', name: 'Ada', plan: 'pro' },
  timestamp: at,
};

runConformanceSuite(webTracking, {
  validConfigs: [config, { ...config, userIdType: 'shop' }, verifying],
  invalidConfigs: [
    { config: { writeKey: 'short' }, field: 'writeKey' },
    { config: { ...config, userIdType: 'Not Valid' }, field: 'userIdType' },
    { config: { ...config, identitySecret: 'too-short' }, field: 'identitySecret' },
  ],
  secretFields: ['identitySecret'],
  notSecretFields: ['writeKey'],
  verifiesBody: false,
  webhookSamples: [
    {
      name: 'page and track',
      request: createWebhookRequest({ body: { writeKey: WRITE_KEY, batch: [page, track] } }),
      expectedInteractions: [
        { type: 'page_view', channel: 'web', externalId: 'm-1', properties: { path: '/pricing', url: 'https://shop.example/pricing', name: 'Pricing' } },
        { type: 'signed_up', externalId: 'm-2', properties: { plan: 'pro' } },
      ],
    },
    {
      name: 'an unsigned identify with the key in a header: the anonymous profile only',
      request: createWebhookRequest({ body: { batch: [identify] }, headers: { 'x-write-key': WRITE_KEY } }),
      expectedCustomers: [{ identifiers: [{ type: 'anonymous', value: 'anon-1' }], displayName: 'Ada', traits: { plan: 'pro' }, unverified: true }],
    },
    {
      name: 'a signed identify: user id and email linked',
      config: verifying,
      request: createWebhookRequest({
        body: {
          writeKey: WRITE_KEY,
          batch: [{ ...identify, userHash: identityHash(IDENTITY_SECRET, 'u-42'), emailHash: identityHash(IDENTITY_SECRET, 'ada@example.com') }],
        },
      }),
      expectedCustomers: [
        {
          identifiers: [
            { type: 'web-user', value: 'u-42' },
            { type: 'email', value: 'ada@example.com' },
            { type: 'anonymous', value: 'anon-1' },
          ],
          displayName: 'Ada',
          traits: { plan: 'pro' },
        },
      ],
    },
  ],
  webhookRejections: [
    { name: 'no write key', request: createWebhookRequest({ body: { batch: [page] } }) },
    { name: 'another write key', request: createWebhookRequest({ body: { writeKey: 'wk_someone_else_000', batch: [page] } }) },
    { name: 'a wrong header key', request: createWebhookRequest({ body: { writeKey: WRITE_KEY, batch: [page] }, headers: { 'x-write-key': 'nope' } }) },
  ],
});

test('event names become lower-case interaction types', () => {
  expect(eventType('Signed Up')).toBe('signed_up');
  expect(eventType('Checkout: Step 2!')).toBe('checkout_step_2');
  expect(eventType('404 seen')).toBe('event_404_seen');
});

describe('identity verification (a public write key cannot claim a known customer)', () => {
  const parse = (call: Record<string, unknown>, raw: Record<string, unknown> = verifying) =>
    webTracking.webhook!.parse(createWebhookRequest({ body: { writeKey: WRITE_KEY, batch: [call] } }), webTracking.config.parse(raw));
  const userHash = identityHash(IDENTITY_SECRET, 'u-42');

  test('a signature over another spelling of a stored identifier (upper case, spaces) links nothing', async () => {
    // A site that signs its account `VICTOR@example.org` as typed must not reach the customer stored as `victor@example.org`.
    const email = 'VICTOR@example.org';
    const byEmail = await parse({
      ...identify,
      userId: 'u-7',
      userHash: identityHash(IDENTITY_SECRET, 'u-7'),
      traits: { email },
      emailHash: identityHash(IDENTITY_SECRET, email),
    });
    expect(byEmail.customers![0]!.identifiers).toEqual([
      { type: 'web-user', value: 'u-7' },
      { type: 'anonymous', value: 'anon-1' },
    ]);
    const byUser = await parse({ ...identify, userId: ' u-42', userHash: identityHash(IDENTITY_SECRET, ' u-42'), traits: {} });
    expect(byUser.customers![0]!).toMatchObject({ identifiers: [{ type: 'anonymous', value: 'anon-1' }], unverified: true });
  });

  test('an identify whose userId is unsigned, wrongly signed, or signed without a configured secret links nothing', async () => {
    for (const [call, raw] of [
      [identify, verifying],
      [{ ...identify, userHash: identityHash('another-secret-0123456789abcdef0123', 'u-42') }, verifying],
      [{ ...identify, userHash: identityHash(IDENTITY_SECRET, 'u-43') }, verifying],
      [{ ...identify, userHash }, config],
    ] as const) {
      const batch = await parse(call, raw);
      expect(batch.customers).toEqual([
        { identifiers: [{ type: 'anonymous', value: 'anon-1' }], displayName: 'Ada', traits: { plan: 'pro' }, unverified: true },
      ]);
    }
  });

  test('a signed userId links the browser; the email only with its own signature', async () => {
    const batch = await parse({ ...identify, userHash: userHash.toUpperCase() });
    expect(batch.customers).toEqual([
      {
        identifiers: [
          { type: 'web-user', value: 'u-42' },
          { type: 'anonymous', value: 'anon-1' },
        ],
        displayName: 'Ada',
        traits: { plan: 'pro' },
      },
    ]);
  });

  test('events use the userId only when signed; otherwise they belong to the anonymous profile', async () => {
    const unsigned = await parse({ ...track, userId: 'u-42' });
    expect(unsigned.interactions![0]!.customer).toEqual({ identifiers: [{ type: 'anonymous', value: 'anon-1' }], unverified: true });
    const signed = await parse({ ...track, userId: 'u-42', userHash });
    expect(signed.interactions![0]!.customer).toEqual({
      identifiers: [
        { type: 'web-user', value: 'u-42' },
        { type: 'anonymous', value: 'anon-1' },
      ],
    });
  });
});
