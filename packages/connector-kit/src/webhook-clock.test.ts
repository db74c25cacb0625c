import { z } from 'zod';
import { defineConnector, secret, verifyWebhookSignature, WEBHOOK_SIGNATURE_HEADER } from './index';
import { DEFAULT_FAKE_NOW, createWebhookRequest, runConformanceSuite } from './testing';

// A push connector that checks its replay window against the clock verify receives.
const clocked = defineConnector({
  id: 'clocked',
  apiVersion: 1,
  version: '1.0.0',
  displayName: 'Clocked',
  description: 'Signed events, replay window checked against the given clock.',
  config: z.object({ signingSecret: secret(z.string().min(8)) }),
  webhook: {
    verify: (request, config, context) => {
      if (!context) throw new Error('verify received no clock');
      return verifyWebhookSignature({
        secret: config.signingSecret,
        body: request.rawBody,
        header: request.headers[WEBHOOK_SIGNATURE_HEADER],
        now: context.now(),
      }).ok;
    },
    parse: (request, _config, context) => {
      const event = JSON.parse(request.body) as { id: string };
      return {
        interactions: [
          {
            customer: { identifiers: [{ type: 'email', value: 'ada@example.com' }] },
            channel: 'web',
            type: 'signup',
            // The time the delivery was received, from the same clock.
            occurredAt: (context?.now() ?? new Date()).toISOString(),
            externalId: event.id,
          },
        ],
      };
    },
  },
});

// Samples signed at the fake clock's time, years ago: verify accepts them only if it gets the suite's clock.
runConformanceSuite(clocked, {
  validConfigs: [{ signingSecret: 'whsec_clock_test' }],
  invalidConfigs: [{ config: {}, field: 'signingSecret' }],
  webhookSamples: [
    {
      name: 'signed at the fake time',
      request: () => createWebhookRequest({ body: { id: 'evt_1' }, sign: { secret: 'whsec_clock_test', timestamp: DEFAULT_FAKE_NOW } }),
      expectedInteractions: [{ externalId: 'evt_1', occurredAt: DEFAULT_FAKE_NOW.toISOString() }],
    },
  ],
  webhookRejections: [
    {
      name: 'signed at the real time, outside the fake clock’s window',
      request: () => createWebhookRequest({ body: { id: 'evt_2' }, sign: { secret: 'whsec_clock_test' } }),
    },
  ],
});
