import { z } from 'zod';
import { MalformedPayloadError, defineConnector, secret, verifyWebhookSignature, type CustomerRecord, type InteractionRecord } from '@rapport/connector-kit';

/** The header payment providers of this shape sign with: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const PAYMENTS_SIGNATURE_HEADER = 'payments-signature';

/** ISO 4217 currencies whose minor unit is not 1/100. */
const MINOR_UNIT_DIGITS: Record<string, number> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  MGA: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  JOD: 3,
  KWD: 3,
  OMR: 3,
  TND: 3,
};

const customerSchema = z.object({ id: z.string(), email: z.string().nullable().optional(), name: z.string().nullable().optional() });
const eventSchema = z.object({
  id: z.string().min(1),
  type: z.string(),
  created: z.number().int().positive(),
  data: z.object({
    object: z.object({
      id: z.string(),
      amount: z.number().int().nonnegative(),
      currency: z.string().length(3),
      customer: customerSchema,
      payment: z.string().optional(),
      description: z.string().nullable().optional(),
      reason: z.string().nullable().optional(),
    }),
  }),
});

/** Event types turned into interactions; others are acknowledged and ignored. */
const TYPES: Record<string, string> = { 'payment.succeeded': 'purchase', 'refund.created': 'refund' };

/** Amount in minor units (cents) to a decimal value in the currency's major unit. */
export function toMajorUnits(amount: number, currency: string): number {
  const digits = MINOR_UNIT_DIGITS[currency.toUpperCase()] ?? 2;
  return amount / 10 ** digits;
}

/**
 * Payments (push): signed payment and refund events, shaped like the event
 * webhooks payment providers send (`{ id, type, created, data: { object } }`),
 * become `purchase` and `refund` interactions with value and currency.
 */
export default defineConnector({
  id: 'payments',
  apiVersion: 1,
  version: '1.0.0',
  displayName: 'Payments',
  description: 'Signed payment.succeeded and refund.created events from a payment provider, as purchase and refund interactions with value and currency.',
  config: z.object({
    signingSecret: secret(z.string().min(16)).describe('The endpoint’s signing secret from the provider'),
    toleranceSeconds: z.int().min(1).max(3600).default(300).describe('Replay window of the signature timestamp'),
  }),
  webhook: {
    verify: (request, config) =>
      verifyWebhookSignature({
        secret: config.signingSecret,
        body: request.rawBody,
        header: request.headers[PAYMENTS_SIGNATURE_HEADER],
        toleranceSeconds: config.toleranceSeconds,
      }).ok,
    parse: (request) => {
      let json: unknown;
      try {
        json = JSON.parse(request.body);
      } catch {
        throw new MalformedPayloadError('the body is not JSON');
      }
      const parsed = eventSchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new MalformedPayloadError(issue.message, { path: issue.path.join('.') });
      }
      const event = parsed.data;
      const type = TYPES[event.type];
      if (!type) return {};
      const object = event.data.object;
      const identifiers = [
        { type: 'payments', value: object.customer.id },
        ...(object.customer.email ? [{ type: 'email', value: object.customer.email }] : []),
      ];
      const customers: CustomerRecord[] = [{ identifiers, ...(object.customer.name ? { displayName: object.customer.name } : {}) }];
      const interaction: InteractionRecord = {
        customer: { identifiers },
        channel: 'payment',
        type,
        occurredAt: new Date(event.created * 1000),
        value: toMajorUnits(object.amount, object.currency),
        currency: object.currency.toUpperCase(),
        direction: 'INBOUND',
        properties: {
          [type === 'refund' ? 'refundId' : 'paymentId']: object.id,
          ...(object.payment ? { paymentId: object.payment } : {}),
          ...(object.description ? { description: object.description } : {}),
          ...(object.reason ? { reason: object.reason } : {}),
        },
        externalId: event.id,
      };
      return { customers, interactions: [interaction] };
    },
  },
});
