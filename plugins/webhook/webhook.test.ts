import { createWebhookRequest, runConformanceSuite } from '@rapport/connector-kit/testing';
import { MalformedPayloadError } from '@rapport/connector-kit';
import webhook from './index';

const SECRET = 'whsec_generic_0123456789';
const config = {
  signingSecret: SECRET,
  channel: 'web',
  mapping: { email: 'user.email', externalId: 'id', occurredAt: 'timestamp', type: 'event', value: 'amount', currency: 'currency', properties: ['page.url'] },
};
const event = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  event: 'Signed Up',
  timestamp: '2024-05-01T12:00:00Z',
  user: { email: 'Ada@Example.com' },
  page: { url: '/pricing' },
  ...extra,
});

runConformanceSuite(webhook, {
  validConfigs: [config, { ...config, typeValue: 'signup', mapping: { customerId: 'uid', externalId: 'id', occurredAt: 'ts' } }],
  invalidConfigs: [
    { config: { ...config, signingSecret: 'short' }, field: 'signingSecret' },
    { config: { ...config, mapping: { email: 'user.email', occurredAt: 'timestamp' } }, field: 'mapping.externalId' },
    { config: { ...config, mapping: { ...config.mapping, email: 'not a path' } }, field: 'mapping.email' },
  ],
  secretFields: ['signingSecret'],
  notSecretFields: [],
  webhookSamples: [
    {
      name: 'one event',
      request: () => createWebhookRequest({ body: event('evt_1'), sign: { secret: SECRET } }),
      expectedInteractions: [{ type: 'signed_up', externalId: 'evt_1', properties: { url: '/pricing' } }],
    },
    {
      name: 'an events envelope',
      request: () =>
        createWebhookRequest({
          body: { events: [event('evt_2', { event: 'purchase', amount: '19.90', currency: 'eur' }), event('evt_3')] },
          sign: { secret: SECRET },
        }),
      expectedInteractions: [{ type: 'purchase', value: 19.9, currency: 'eur', externalId: 'evt_2' }, { externalId: 'evt_3' }],
    },
  ],
  webhookRejections: [
    { name: 'an unsigned request', request: createWebhookRequest({ body: event('evt_4') }) },
    { name: 'another secret', request: () => createWebhookRequest({ body: event('evt_4'), sign: { secret: 'whsec_someone_else_000' } }) },
  ],
});

describe('webhook parse', () => {
  test('names the path of a missing event id', () => {
    const request = createWebhookRequest({ body: { events: [event('evt_5'), { ...event('x'), id: undefined }] }, sign: { secret: SECRET } });
    expect(() => webhook.webhook!.parse(request, webhook.config.parse(config))).toThrow(
      new MalformedPayloadError('the event id is missing', { path: 'events[1].id' }),
    );
  });
});
