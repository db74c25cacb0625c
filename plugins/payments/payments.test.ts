import { createWebhookRequest, runConformanceSuite } from '@rapport/connector-kit/testing';
import { signWebhook } from '@rapport/connector-kit';
import payments, { PAYMENTS_SIGNATURE_HEADER, toMajorUnits } from './index';

const SECRET = 'whsec_payments_0123456789';
const config = { signingSecret: SECRET };
const NOW = new Date('2024-05-01T12:00:00Z');

function event(id: string, type: string, amount: number, currency = 'eur') {
  return {
    id,
    type,
    created: Math.floor(NOW.getTime() / 1000) - 60,
    data: {
      object: {
        id: `obj_${id}`,
        amount,
        currency,
        customer: { id: 'cus_42', email: 'ada@example.com', name: 'Ada' },
        ...(type === 'refund.created' ? { payment: 'pay_1', reason: 'requested_by_customer' } : {}),
      },
    },
  };
}

/** A request signed with the provider's header, as the provider sends it. */
const signed = (body: unknown) => {
  const text = JSON.stringify(body);
  return {
    headers: { 'content-type': 'application/json', [PAYMENTS_SIGNATURE_HEADER]: signWebhook(SECRET, text, new Date()) },
    body: text,
    rawBody: Buffer.from(text),
  };
};

runConformanceSuite(payments, {
  now: NOW,
  validConfigs: [config, { ...config, toleranceSeconds: 60 }],
  invalidConfigs: [
    { config: {}, field: 'signingSecret' },
    { config: { ...config, toleranceSeconds: 0 }, field: 'toleranceSeconds' },
  ],
  secretFields: ['signingSecret'],
  webhookSamples: [
    {
      name: 'payment succeeded',
      request: () => signed(event('evt_1', 'payment.succeeded', 1990)),
      expectedInteractions: [{ type: 'purchase', value: 19.9, currency: 'EUR', channel: 'payment', externalId: 'evt_1' }],
      expectedCustomers: 1,
    },
    {
      name: 'refund created',
      request: () => signed(event('evt_2', 'refund.created', 500)),
      expectedInteractions: [
        { type: 'refund', value: 5, externalId: 'evt_2', properties: { refundId: 'obj_evt_2', paymentId: 'pay_1', reason: 'requested_by_customer' } },
      ],
    },
    { name: 'yen payment', request: () => signed(event('evt_3', 'payment.succeeded', 1200, 'jpy')), expectedInteractions: [{ value: 1200, currency: 'JPY' }] },
  ],
  webhookRejections: [
    {
      name: 'signed with Rapport’s header instead of the provider’s',
      request: () => createWebhookRequest({ body: event('evt_4', 'payment.succeeded', 100), sign: { secret: SECRET } }),
    },
    { name: 'unsigned', request: createWebhookRequest({ body: event('evt_5', 'payment.succeeded', 100) }) },
  ],
});

describe('payments', () => {
  test('converts minor units by currency', () => {
    expect(toMajorUnits(1990, 'eur')).toBe(19.9);
    expect(toMajorUnits(500, 'JPY')).toBe(500);
    expect(toMajorUnits(1234, 'KWD')).toBe(1.234);
  });

  test('acknowledges event types it does not map with an empty batch', () => {
    expect(payments.webhook!.parse(signed(event('evt_6', 'customer.updated', 0)), payments.config.parse(config))).toEqual({});
  });
});
