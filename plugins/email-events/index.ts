import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { z } from 'zod';
import { MalformedPayloadError, defineConnector, type ConsentRecord, type InteractionRecord } from '@rapport/connector-kit';

/** Headers of the event webhook: an ECDSA (P-256, SHA-256) signature over `<timestamp><body>`, base64 DER, and the timestamp. */
export const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

const eventSchema = z.looseObject({
  email: z.string(),
  timestamp: z.number().int().positive(),
  event: z.string(),
  sg_event_id: z.string().min(1),
  sg_message_id: z.string().optional(),
  url: z.string().optional(),
  reason: z.string().optional(),
  type: z.string().optional(),
  category: z.union([z.string(), z.array(z.string())]).optional(),
  useragent: z.string().optional(),
});

/** Provider event → interaction type and direction; events not listed (processed, deferred) are skipped. */
const EVENTS: Record<string, { type: string; direction: 'INBOUND' | 'OUTBOUND' }> = {
  delivered: { type: 'delivered', direction: 'OUTBOUND' },
  open: { type: 'open', direction: 'INBOUND' },
  click: { type: 'click', direction: 'INBOUND' },
  bounce: { type: 'bounce', direction: 'OUTBOUND' },
  dropped: { type: 'bounce', direction: 'OUTBOUND' },
  unsubscribe: { type: 'unsubscribe', direction: 'INBOUND' },
  group_unsubscribe: { type: 'unsubscribe', direction: 'INBOUND' },
  spamreport: { type: 'spam_report', direction: 'INBOUND' },
};

/**
 * Email events (push): delivery, open, click, bounce and unsubscribe events as an
 * email service provider's event webhook sends them — a JSON array of events,
 * signed with ECDSA over the timestamp and the body, verified with the
 * provider's public verification key.
 */
export default defineConnector({
  id: 'email-events',
  apiVersion: 1,
  version: '1.0.0',
  displayName: 'Email events',
  description: 'Delivery, open, click, bounce and unsubscribe events from an email service provider’s signed event webhook.',
  config: z.object({
    verificationKey: z
      .string()
      .min(40)
      .refine((value) => {
        try {
          createPublicKey({ key: Buffer.from(value, 'base64'), format: 'der', type: 'spki' });
          return true;
        } catch {
          return false;
        }
      }, 'must be the base64 public key the provider shows for signed event webhooks')
      .describe('Public verification key (base64, from the provider’s event webhook settings)'),
    toleranceSeconds: z.int().min(1).max(3600).default(600).describe('Replay window of the signed timestamp'),
  }),
  webhook: {
    verify: (request, config) => {
      const signature = request.headers[SIGNATURE_HEADER];
      const timestamp = request.headers[TIMESTAMP_HEADER];
      if (!signature || !timestamp || !/^\d+$/.test(timestamp)) return false;
      const key = createPublicKey({ key: Buffer.from(config.verificationKey, 'base64'), format: 'der', type: 'spki' });
      const ok = verifySignature('sha256', Buffer.concat([Buffer.from(timestamp), request.rawBody]), key, Buffer.from(signature, 'base64'));
      // The signature is checked before the clock, so an unsigned sender learns nothing about the window.
      return ok && Math.abs(Date.now() / 1000 - Number(timestamp)) <= config.toleranceSeconds;
    },
    parse: (request) => {
      let json: unknown;
      try {
        json = JSON.parse(request.body);
      } catch {
        throw new MalformedPayloadError('the body is not JSON');
      }
      if (!Array.isArray(json)) throw new MalformedPayloadError('the body must be a JSON array of events');
      const interactions: InteractionRecord[] = [];
      const consents: ConsentRecord[] = [];
      json.forEach((raw, index) => {
        const parsed = eventSchema.safeParse(raw);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new MalformedPayloadError(issue.message, { path: `[${index}].${issue.path.join('.')}` });
        }
        const event = parsed.data;
        const mapped = EVENTS[event.event];
        if (!mapped) return;
        const categories = event.category === undefined ? undefined : Array.isArray(event.category) ? event.category : [event.category];
        interactions.push({
          customer: { identifiers: [{ type: 'email', value: event.email }] },
          channel: 'email',
          type: mapped.type,
          direction: mapped.direction,
          occurredAt: new Date(event.timestamp * 1000),
          properties: {
            event: event.event,
            ...(event.sg_message_id ? { messageId: event.sg_message_id } : {}),
            ...(event.url ? { url: event.url } : {}),
            ...(event.reason ? { reason: event.reason } : {}),
            ...(event.type ? { bounceType: event.type } : {}),
            ...(categories ? { categories } : {}),
          },
          externalId: event.sg_event_id,
        });
        // An unsubscribe is also the customer withdrawing marketing consent by email.
        if (mapped.type === 'unsubscribe') {
          consents.push({
            customer: { identifiers: [{ type: 'email', value: event.email }] },
            purpose: 'marketing',
            channel: 'email',
            status: 'WITHDRAWN',
            recordedAt: new Date(event.timestamp * 1000),
          });
        }
      });
      return consents.length ? { interactions, consents } : { interactions };
    },
  },
});
