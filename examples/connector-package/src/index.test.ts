import { createWebhookRequest, runConformanceSuite } from '@rapport/connector-kit/testing';
import connector, { toE164 } from './index';

const config = { signingSecret: 'whsec_acme_sms_test_0001', country: 'GB' };
const reply = { id: 'msg_1', direction: 'inbound', customer_number: '07911 123456', status: 'received', at: '2026-11-20T10:00:00Z' };
const delivered = { id: 'msg_2', direction: 'outbound', customer_number: '+44 7400 123456', status: 'delivered', at: '2026-11-20T10:05:00Z' };

runConformanceSuite(connector, {
  validConfigs: [config, { signingSecret: config.signingSecret }],
  invalidConfigs: [
    { config: { country: 'GB' }, field: 'signingSecret' },
    { config: { ...config, country: 'united kingdom' }, field: 'country' },
  ],
  secretFields: ['signingSecret'],
  webhookSamples: [
    {
      name: 'a reply from a national number',
      request: () => createWebhookRequest({ body: reply, sign: { secret: config.signingSecret } }),
      config,
      expectedInteractions: [{ type: 'sms_received', externalId: 'msg_1' }],
    },
    {
      name: 'a delivery report',
      request: () => createWebhookRequest({ body: delivered, sign: { secret: config.signingSecret } }),
      config,
      expectedInteractions: [{ type: 'sms_delivered', direction: 'OUTBOUND', externalId: 'msg_2' }],
    },
  ],
  webhookRejections: [{ name: 'an unsigned request', request: createWebhookRequest({ body: reply }) }],
});

describe('phone numbers', () => {
  test('national numbers are read in the configured country and stored in E.164', () => {
    expect(toE164('07911 123456', 'GB')).toBe('+447911123456');
    expect(toE164('+33 6 12 34 56 78', 'GB')).toBe('+33612345678');
    expect(toE164('abc', 'GB')).toBeUndefined();
  });

  test('a message from something that is not a phone number is refused with the field', () => {
    const request = createWebhookRequest({ body: { ...reply, customer_number: 'abc' }, sign: { secret: config.signingSecret } });
    expect(() => connector.webhook?.parse(request, config)).toThrow(expect.objectContaining({ code: 'CONNECTOR_MALFORMED_PAYLOAD', path: 'customer_number' }));
  });
});
