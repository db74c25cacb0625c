import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import {
  MalformedPayloadError,
  WEBHOOK_SIGNATURE_HEADER,
  defineConnector,
  secret,
  verifyWebhookSignature,
  type InteractionRecord,
} from '@rapport/connector-kit';

/** One message event as Acme SMS posts it. */
const messageSchema = z.object({
  id: z.string().min(1),
  direction: z.enum(['inbound', 'outbound']),
  // The customer's number, as the carrier reported it: international or national.
  customer_number: z.string().min(1),
  status: z.enum(['received', 'delivered', 'failed']),
  at: z.iso.datetime({ offset: true }),
});
type MessageEvent = z.output<typeof messageSchema>;

/** A number in E.164, reading a national one in `country`; undefined when it is not a phone number. */
export function toE164(number: string, country: string): string | undefined {
  const parsed = parsePhoneNumberFromString(number, country as CountryCode);
  return parsed?.isValid() ? parsed.number : undefined;
}

function toInteraction(event: MessageEvent, country: string): InteractionRecord {
  const phone = toE164(event.customer_number, country);
  if (!phone) throw new MalformedPayloadError(`customer_number is not a phone number of ${country} or in international format`, { path: 'customer_number' });
  return {
    customer: { identifiers: [{ type: 'phone', value: phone }] },
    channel: 'sms',
    type: event.direction === 'inbound' ? 'sms_received' : `sms_${event.status}`,
    direction: event.direction === 'inbound' ? 'INBOUND' : 'OUTBOUND',
    occurredAt: event.at,
    // Acme's own id: a redelivered event is stored once.
    externalId: event.id,
  };
}

export default defineConnector({
  id: 'acme-sms',
  apiVersion: 1,
  version: '1.0.0',
  displayName: 'Acme SMS',
  description: 'Replies and delivery reports from Acme SMS, by signed webhooks.',
  config: z.object({
    signingSecret: secret(z.string().min(16)).describe('Webhook signing secret from Acme → Settings → Webhooks'),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .default('GB')
      .describe('ISO country code for numbers Acme reports without a country prefix'),
  }),
  webhook: {
    verify: (request, config) =>
      verifyWebhookSignature({ secret: config.signingSecret, body: request.rawBody, header: request.headers[WEBHOOK_SIGNATURE_HEADER] }).ok,
    parse: (request, config) => {
      let json: unknown;
      try {
        json = JSON.parse(request.body);
      } catch {
        throw new MalformedPayloadError('the body is not JSON');
      }
      const event = messageSchema.safeParse(json);
      if (!event.success) {
        const issue = event.error.issues[0];
        throw new MalformedPayloadError(issue.message, { path: issue.path.join('.') });
      }
      return { interactions: [toInteraction(event.data, config.country)] };
    },
  },
});
