import { createWebhookRequest, runConformanceSuite } from 'rapport/connector-kit/testing';
import webTracking, { eventType } from './index';

const WRITE_KEY = 'wk_public_0123456789';
const config = { writeKey: WRITE_KEY };
const at = '2024-05-01T12:00:00.000Z';
const page = { type: 'page', messageId: 'm-1', anonymousId: 'anon-1', name: 'Pricing', properties: { path: '/pricing', url: 'https://shop.example/pricing' }, timestamp: at };
const track = { type: 'track', messageId: 'm-2', anonymousId: 'anon-1', event: 'Signed Up', properties: { plan: 'pro' }, timestamp: at };
const identify = { type: 'identify', messageId: 'm-3', anonymousId: 'anon-1', userId: 'u-42', traits: { email: 'ada@example.com', name: 'Ada', plan: 'pro' }, timestamp: at };

runConformanceSuite(webTracking, {
  validConfigs: [config, { ...config, userIdType: 'shop' }],
  invalidConfigs: [{ config: { writeKey: 'short' }, field: 'writeKey' }, { config: { ...config, userIdType: 'Not Valid' }, field: 'userIdType' }],
  secretFields: [],
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
      name: 'identify with the key in a header',
      request: createWebhookRequest({ body: { batch: [identify] }, headers: { 'x-write-key': WRITE_KEY } }),
      expectedCustomers: [
        {
          identifiers: [
            { type: 'web-user', value: 'u-42' },
            { type: 'anonymous', value: 'anon-1' },
            { type: 'email', value: 'ada@example.com' },
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
