import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { MalformedPayloadError, defineConnector, secret, type CustomerRecord, type Identifier, type InteractionRecord } from '@rapport/connector-kit';

const hash = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be a hex HMAC-SHA256')
  .optional();

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
  /** HMAC-SHA256 of `userId` under the connection's identitySecret, computed by the site's server. */
  userHash: hash,
  /** HMAC-SHA256 of `traits.email` (as sent) under the identitySecret. */
  emailHash: hash,
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

/** The signature a site's server gives a value: hex HMAC-SHA256 under the connection's identity secret. */
export function identityHash(identitySecret: string, value: string): string {
  return createHmac('sha256', identitySecret).update(value, 'utf8').digest('hex');
}

/** Whether `signature` is the identity hash of `value`; always false without a secret. */
function signed(
  identitySecret: string | undefined,
  value: string | undefined,
  signature: string | undefined,
  canonical: (v: string) => string,
): value is string {
  if (!identitySecret || value === undefined || signature === undefined) return false;
  // Rapport stores identifiers trimmed (emails lower-cased too): a signature over any other spelling
  // (a site account `ADA@example.com`) would link whoever holds the stored one (`ada@example.com`).
  if (canonical(value) !== value) return false;
  return sameKey(identityHash(identitySecret, value), signature.toLowerCase());
}

const trimmed = (v: string) => v.trim();
const canonicalEmail = (v: string) => v.trim().toLowerCase();

/**
 * Web tracking (push): page views and custom events from a website or app, sent
 * with a public write key (in the body or as `x-write-key`), and identify calls
 * that tie a browser's anonymous id to a known customer. The write key only
 * says which connection the events belong to: it is public by design (it ships
 * in the page), so anyone can send anything with it.
 *
 * Hence identity verification: a userId or email links a browser to a known
 * customer only when the call carries its HMAC-SHA256 under the connection's
 * identitySecret (`userHash`, `emailHash`), computed by the site's server for
 * the logged-in user. Every other call is unverified: it reaches only the
 * anonymous profile of its anonymousId (created on first use), and the host
 * refuses it for a profile known by anything else, so a page can neither
 * change a known customer's name or traits nor attach its anonymous id to one.
 */
export default defineConnector({
  id: 'web-tracking',
  apiVersion: 1,
  version: '1.0.0',
  displayName: 'Web tracking',
  description: 'Page views, custom events and identify calls from a website or app, sent with a public write key.',
  config: z.object({
    writeKey: z.string().min(12).describe('Public write key the snippet sends (not a secret: it is visible in the page)'),
    userIdType: z
      .string()
      .regex(/^[a-z][a-z0-9_-]*$/)
      .default('web-user')
      .describe('Identifier type of userId'),
    identitySecret: secret(z.string().min(32))
      .optional()
      .describe('Server-side secret for identity verification: userHash = HMAC-SHA256(identitySecret, userId), hex. Without it no call links a known customer'),
  }),
  webhook: {
    public: true,
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
        const issue = parsed.error.issues[0];
        throw new MalformedPayloadError(issue.message, { path: issue.path.join('.') });
      }
      const customers: CustomerRecord[] = [];
      const interactions: InteractionRecord[] = [];
      for (const call of parsed.data.batch) {
        const email = typeof call.traits?.['email'] === 'string' ? (call.traits['email'] as string) : undefined;
        // Only identifiers the site's server signed link a known customer; the anonymous id is the browser's own.
        const verified: Identifier[] = [
          ...(signed(config.identitySecret, call.userId, call.userHash, trimmed) ? [{ type: config.userIdType, value: call.userId }] : []),
          ...(call.type === 'identify' && signed(config.identitySecret, email, call.emailHash, canonicalEmail) ? [{ type: 'email', value: email }] : []),
        ];
        const identifiers: Identifier[] = [...verified, { type: 'anonymous', value: call.anonymousId }];
        const unverified = verified.length === 0 ? { unverified: true } : {};
        if (call.type === 'identify') {
          // An unsigned email is not recorded at all: it is the sender's claim, and personal.
          const { email: _email, name, ...traits } = call.traits ?? {};
          customers.push({
            identifiers,
            ...(typeof name === 'string' && name.trim() ? { displayName: name } : {}),
            ...(Object.keys(traits).length > 0 ? { traits } : {}),
            ...unverified,
          });
          continue;
        }
        const properties = { ...(call.properties ?? {}), ...(call.name ? { name: call.name } : {}) };
        interactions.push({
          customer: { identifiers, ...unverified },
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
