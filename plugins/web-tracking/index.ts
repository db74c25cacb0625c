import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { MalformedPayloadError, defineConnector, type CustomerRecord, type Identifier, type InteractionRecord } from 'rapport/connector-kit';

const callSchema = z.object({
  type: z.enum(['page', 'track', 'identify']),
  messageId: z.string().min(1).max(200),
  anonymousId: z.string().min(1).max(200),
  userId: z.string().min(1).max(200).optional(),
  event: z.string().min(1).max(100).optional(),
  name: z.string().max(200).optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  traits: z.record(z.string(), z.unknown()).optional(),
  timestamp: z.iso.datetime({ offset: true }),
});
const bodySchema = z.object({ writeKey: z.string().optional(), batch: z.array(callSchema).min(1).max(500) });

/** `Signed Up` → `signed_up`: interaction types are lower-case names. */
export function eventType(event: string): string {
  const name = event
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return /^[a-z]/.test(name) ? name : `event_${name}`;
}

function sameKey(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Web tracking (push): page views and custom events from a website or app, sent
 * with a public write key (in the body or as `x-write-key`), and identify calls
 * that tie a browser's anonymous id to a known customer. The write key only
 * says which connection the events belong to: it is public by design (it ships
 * in the page), so treat the data as untrusted input.
 */
export default defineConnector({
  id: 'web-tracking',
  apiVersion: 1,
  version: '1.0.0',
  displayName: 'Web tracking',
  description: 'Page views, custom events and identify calls from a website or app, sent with a public write key.',
  config: z.object({
    writeKey: z.string().min(12).describe('Public write key the snippet sends (not a secret: it is visible in the page)'),
    userIdType: z.string().regex(/^[a-z][a-z0-9_-]*$/).default('web-user').describe('Identifier type of userId'),
  }),
  webhook: {
    verify: (request, config) => {
      const header = request.headers['x-write-key'];
      if (header !== undefined) return sameKey(header, config.writeKey);
      try {
        const body = JSON.parse(request.body) as { writeKey?: unknown };
        return typeof body.writeKey === 'string' && sameKey(body.writeKey, config.writeKey);
      } catch {
        return false;
      }
    },
    parse: (request, config) => {
      let json: unknown;
      try {
        json = JSON.parse(request.body);
      } catch {
        throw new MalformedPayloadError('the body is not JSON');
      }
      const parsed = bodySchema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new MalformedPayloadError(issue.message, { path: issue.path.join('.') });
      }
      const customers: CustomerRecord[] = [];
      const interactions: InteractionRecord[] = [];
      for (const call of parsed.data.batch) {
        const identifiers: Identifier[] = [
          ...(call.userId ? [{ type: config.userIdType, value: call.userId }] : []),
          { type: 'anonymous', value: call.anonymousId },
        ];
        if (call.type === 'identify') {
          const email = typeof call.traits?.['email'] === 'string' ? (call.traits['email'] as string) : undefined;
          const { email: _email, name, ...traits } = call.traits ?? {};
          customers.push({
            identifiers: [...identifiers, ...(email ? [{ type: 'email', value: email }] : [])],
            ...(typeof name === 'string' && name.trim() ? { displayName: name } : {}),
            ...(Object.keys(traits).length > 0 ? { traits } : {}),
          });
          continue;
        }
        const properties = { ...(call.properties ?? {}), ...(call.name ? { name: call.name } : {}) };
        interactions.push({
          customer: { identifiers },
          channel: 'web',
          type: call.type === 'page' ? 'page_view' : eventType(call.event ?? 'event'),
          direction: 'INBOUND',
          occurredAt: call.timestamp,
          ...(Object.keys(properties).length > 0 ? { properties } : {}),
          externalId: call.messageId,
        });
      }
      return { customers, interactions };
    },
  },
});
