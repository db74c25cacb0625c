import type { WebhookRequest } from '../context';
import { WEBHOOK_SIGNATURE_HEADER, signWebhook } from '../webhook-signature';

/**
 * Options of {@link createWebhookRequest}.
 *
 * @example
 * ```ts
 * const options: CreateWebhookRequestOptions = { body: { id: 'evt_1' }, sign: { secret: 'whsec_test' } };
 * ```
 */
export interface CreateWebhookRequestOptions {
  /** The body: a string is sent as is, anything else as JSON. */
  body: unknown;
  /** Extra headers (names are lower-cased). `content-type` defaults to `application/json`. */
  headers?: Record<string, string>;
  /** Signs the body with Rapport's scheme (`signWebhook`). */
  sign?: {
    secret: string;
    /** @defaultValue now */
    timestamp?: Date | number;
    /** @defaultValue `x-rapport-signature` */
    header?: string;
  };
}

/**
 * Builds a {@link WebhookRequest} as the host would hand it to a connector, optionally
 * signed. For providers with their own scheme, compute their header and pass it in `headers`.
 *
 * @example
 * ```ts
 * const request = createWebhookRequest({ body: { id: 'evt_1', type: 'ticket.created' }, sign: { secret: 'whsec_test' } });
 * await expect(acme.webhook!.verify(request, config)).resolves.toBe(true);
 * ```
 */
export function createWebhookRequest(options: CreateWebhookRequestOptions): WebhookRequest {
  const body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  if (options.sign) {
    headers[(options.sign.header ?? WEBHOOK_SIGNATURE_HEADER).toLowerCase()] = signWebhook(options.sign.secret, body, options.sign.timestamp ?? new Date());
  }
  return { headers, body, rawBody: Buffer.from(body, 'utf8') };
}

/**
 * A copy of a request with one character of its body changed (the last letter or digit,
 * so JSON stays JSON): a correct verifier must reject it.
 *
 * @example
 * ```ts
 * await expect(acme.webhook!.verify(tamperWebhookRequest(request), config)).resolves.toBe(false);
 * ```
 */
export function tamperWebhookRequest(request: WebhookRequest): WebhookRequest {
  const body = request.body;
  let index = body.length - 1;
  while (index >= 0 && !/[0-9A-Za-z]/.test(body[index])) index--;
  const tampered = index < 0 ? `${body} ` : body.slice(0, index) + shift(body[index]) + body.slice(index + 1);
  return { headers: { ...request.headers }, body: tampered, rawBody: Buffer.from(tampered, 'utf8') };
}

function shift(character: string): string {
  if (character === '9') return '0';
  if (character === 'z') return 'a';
  if (character === 'Z') return 'A';
  return String.fromCharCode(character.charCodeAt(0) + 1);
}
