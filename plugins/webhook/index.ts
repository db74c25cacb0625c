import { z } from 'zod';
import {
  MalformedPayloadError,
  WEBHOOK_SIGNATURE_HEADER,
  defineConnector,
  secret,
  verifyWebhookSignature,
  type InteractionRecord,
} from '@rapport/connector-kit';

const path = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'must be a dotted path such as "data.customer.email"');

/** Where each interaction field is found in an event (dotted paths), or its constant value. */
const mappingSchema = z.object({
  email: path.optional().describe('Path of the customer email'),
  phone: path.optional().describe('Path of the customer phone number'),
  customerId: path.optional().describe('Path of the customer id in the sending system (identifier type: the idType setting)'),
  externalId: path.describe('Path of the event id (stable across redeliveries)'),
  occurredAt: path.describe('Path of the event time (ISO 8601 or unix seconds)'),
  type: path.optional().describe('Path of the event type; or set typeValue'),
  value: path.optional().describe('Path of a monetary value'),
  currency: path.optional().describe('Path of the ISO 4217 currency'),
  properties: z.array(path).default([]).describe('Paths copied into properties (by their last segment)'),
});

function pick(event: unknown, dotted: string | undefined): unknown {
  if (!dotted) return undefined;
  let value: unknown = event;
  for (const segment of dotted.split('.')) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[segment] : undefined;
  return value;
}

function text(event: unknown, dotted: string | undefined): string | undefined {
  const value = pick(event, dotted);
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/**
 * Generic signed JSON webhook: any system that can POST JSON events signed with
 * Rapport's scheme (HMAC-SHA256, `x-rapport-signature: t=…,v1=…`). A declarative
 * mapping says where the customer, the event id, the time and the type are.
 * The body is one event, an array of events, or `{ "events": [...] }`.
 */
export default defineConnector({
  id: 'webhook',
  apiVersion: 1,
  version: '1.0.0',
  displayName: 'Signed JSON webhook',
  description: 'Any JSON events signed with HMAC-SHA256, mapped to interactions by a declarative field mapping.',
  config: z.object({
    signingSecret: secret(z.string().min(16)).describe('Shared secret the sender signs with'),
    channel: z
      .string()
      .regex(/^[a-z][a-z0-9_.:-]*$/)
      .default('web')
      .describe('Channel of every interaction'),
    typeValue: z
      .string()
      .regex(/^[a-z][a-z0-9_.:-]*$/)
      .optional()
      .describe('Type of every interaction when mapping.type is not set'),
    idType: z
      .string()
      .regex(/^[a-z][a-z0-9_-]*$/)
      .default('external')
      .describe('Identifier type of mapping.customerId'),
    toleranceSeconds: z.int().min(1).max(3600).default(300).describe('Replay window of the signature timestamp'),
    mapping: mappingSchema,
  }),
  webhook: {
    verify: (request, config) =>
      verifyWebhookSignature({
        secret: config.signingSecret,
        body: request.rawBody,
        header: request.headers[WEBHOOK_SIGNATURE_HEADER],
        toleranceSeconds: config.toleranceSeconds,
      }).ok,
    parse: (request, config) => {
      let body: unknown;
      try {
        body = JSON.parse(request.body);
      } catch {
        throw new MalformedPayloadError('the body is not JSON');
      }
      const events = Array.isArray(body)
        ? body
        : typeof body === 'object' && body !== null && Array.isArray((body as { events?: unknown }).events)
          ? (body as { events: unknown[] }).events
          : [body];
      const { mapping } = config;
      const interactions = events.map((event, index): InteractionRecord => {
        const at = (field: string) => `events[${index}].${field}`;
        const email = text(event, mapping.email);
        const phone = text(event, mapping.phone);
        const customerId = text(event, mapping.customerId);
        const identifiers = [
          ...(email ? [{ type: 'email', value: email }] : []),
          ...(phone ? [{ type: 'phone', value: phone }] : []),
          ...(customerId ? [{ type: config.idType, value: customerId }] : []),
        ];
        if (identifiers.length === 0)
          throw new MalformedPayloadError('no customer identifier at the mapped paths', {
            path: at(mapping.email ?? mapping.customerId ?? mapping.phone ?? 'email'),
          });
        const externalId = text(event, mapping.externalId);
        if (!externalId) throw new MalformedPayloadError('the event id is missing', { path: at(mapping.externalId) });
        const rawTime = pick(event, mapping.occurredAt);
        const occurredAt = typeof rawTime === 'number' ? new Date(rawTime * 1000) : typeof rawTime === 'string' ? rawTime : undefined;
        if (occurredAt === undefined) throw new MalformedPayloadError('the event time is missing', { path: at(mapping.occurredAt) });
        const type = (text(event, mapping.type) ?? config.typeValue)?.toLowerCase().replace(/[^a-z0-9_.:-]/g, '_');
        if (!type) throw new MalformedPayloadError('the event type is missing; map it or set typeValue', { path: at(mapping.type ?? 'type') });
        const value = pick(event, mapping.value);
        const currency = text(event, mapping.currency);
        const properties: Record<string, unknown> = {};
        for (const property of mapping.properties) {
          const found = pick(event, property);
          // The property is named after the path's last segment: `order.total` is stored as `total`.
          if (found !== undefined) properties[property.slice(property.lastIndexOf('.') + 1)] = found;
        }
        return {
          customer: { identifiers },
          channel: config.channel,
          type,
          occurredAt,
          ...(typeof value === 'number'
            ? { value }
            : typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))
              ? { value: Number(value) }
              : {}),
          ...(currency ? { currency } : {}),
          ...(Object.keys(properties).length > 0 ? { properties } : {}),
          externalId,
        };
      });
      return { interactions };
    },
  },
});
