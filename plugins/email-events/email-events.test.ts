import { generateKeyPairSync, sign } from 'node:crypto';
import { createWebhookRequest, runConformanceSuite } from '@rapport/connector-kit/testing';
import type { WebhookRequest } from '@rapport/connector-kit';
import emailEvents, { SIGNATURE_HEADER, TIMESTAMP_HEADER } from './index';

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const config = { verificationKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };

/** A delivery signed the way the provider signs it. */
function delivery(events: unknown[], key = privateKey, at = Math.floor(Date.now() / 1000)): WebhookRequest {
  const body = JSON.stringify(events);
  const timestamp = String(at);
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), key).toString('base64');
  return { headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature, [TIMESTAMP_HEADER]: timestamp }, body, rawBody: Buffer.from(body) };
}

const base = { email: 'ada@example.com', timestamp: 1714564800, sg_message_id: 'msg_1.filter' };
const events = [
  { ...base, event: 'processed', sg_event_id: 'ev_0' },
  { ...base, event: 'delivered', sg_event_id: 'ev_1' },
  { ...base, event: 'open', sg_event_id: 'ev_2', useragent: 'Mail' },
  { ...base, event: 'click', sg_event_id: 'ev_3', url: 'https://example.com/pricing', category: 'spring' },
  { ...base, event: 'bounce', sg_event_id: 'ev_4', reason: '550 mailbox unavailable', type: 'bounce' },
  { ...base, event: 'unsubscribe', sg_event_id: 'ev_5' },
];

runConformanceSuite(emailEvents, {
  validConfigs: [config],
  invalidConfigs: [
    { config: { verificationKey: 'not-a-key-not-a-key-not-a-key-not-a-key-xx' }, field: 'verificationKey' },
    { config: {}, field: 'verificationKey' },
  ],
  secretFields: [],
  webhookSamples: [
    {
      name: 'a batch of events',
      request: () => delivery(events),
      expectedInteractions: [
        { type: 'delivered', direction: 'OUTBOUND', externalId: 'ev_1' },
        { type: 'open', direction: 'INBOUND', externalId: 'ev_2' },
        { type: 'click', properties: { event: 'click', messageId: 'msg_1.filter', url: 'https://example.com/pricing', categories: ['spring'] } },
        { type: 'bounce', properties: expect.objectContaining({ reason: '550 mailbox unavailable' }) },
        { type: 'unsubscribe', externalId: 'ev_5' },
      ],
    },
  ],
  webhookRejections: [
    { name: 'signed by another key', request: () => delivery(events, other.privateKey) },
    { name: 'a stale timestamp', request: () => delivery(events, privateKey, Math.floor(Date.now() / 1000) - 3600) },
    { name: 'unsigned', request: createWebhookRequest({ body: events }) },
  ],
});

describe('unsubscribes', () => {
  test('an unsubscribe event also withdraws marketing consent by email, at the event’s time', async () => {
    const request = delivery([
      { ...base, event: 'unsubscribe', sg_event_id: 'ev_9' },
      { ...base, event: 'open', sg_event_id: 'ev_10' },
    ]);
    const batch = await emailEvents.webhook!.parse(request, { ...config, toleranceSeconds: 300 });
    expect(batch.consents).toEqual([
      {
        customer: { identifiers: [{ type: 'email', value: 'ada@example.com' }] },
        purpose: 'marketing',
        channel: 'email',
        status: 'WITHDRAWN',
        recordedAt: new Date(1714564800 * 1000),
      },
    ]);
    const opens = await emailEvents.webhook!.parse(delivery([{ ...base, event: 'open', sg_event_id: 'ev_11' }]), { ...config, toleranceSeconds: 300 });
    expect(opens.consents).toBeUndefined();
  });
});
