import { createHmac } from 'node:crypto';
import { WebhookVerificationError } from './errors';
import { assertWebhookSignature, signWebhook, verifyWebhookSignature } from './webhook-signature';

const secret = 'whsec_test_secret';
const body = JSON.stringify({ id: 'evt_1', type: 'payment.succeeded', amount: 4200 });
const signedAt = new Date('2024-05-01T12:00:00Z');
const unix = signedAt.getTime() / 1000;

describe('signWebhook', () => {
  test('produces t=<unix>,v1=<hex HMAC-SHA256 of "t.body">', () => {
    const expected = createHmac('sha256', secret).update(`${unix}.${body}`).digest('hex');
    expect(signWebhook(secret, body, signedAt)).toBe(`t=${unix},v1=${expected}`);
    expect(signWebhook(secret, Buffer.from(body), unix)).toBe(`t=${unix},v1=${expected}`);
  });
});

describe('verifyWebhookSignature', () => {
  const header = signWebhook(secret, body, signedAt);

  test('accepts a correctly signed body within the window', () => {
    expect(verifyWebhookSignature({ secret, body, header, now: new Date(signedAt.getTime() + 60_000) })).toEqual({ ok: true, timestamp: signedAt });
    expect(verifyWebhookSignature({ secret, body: Buffer.from(body), header, now: signedAt }).ok).toBe(true);
  });

  test('rejects a webhook whose body was tampered with', () => {
    const tampered = body.replace('4200', '4201');
    expect(verifyWebhookSignature({ secret, body: tampered, header, now: signedAt })).toEqual({ ok: false, reason: 'signature_mismatch' });
  });

  test('rejects a signature made with another secret', () => {
    expect(verifyWebhookSignature({ secret: 'another', body, header, now: signedAt })).toEqual({ ok: false, reason: 'signature_mismatch' });
  });

  test('rejects a signature whose timestamp was changed', () => {
    const moved = header.replace(`t=${unix}`, `t=${unix + 1}`);
    expect(verifyWebhookSignature({ secret, body, header: moved, now: signedAt })).toEqual({ ok: false, reason: 'signature_mismatch' });
  });

  test('rejects an expired timestamp outside the replay window', () => {
    const now = new Date(signedAt.getTime() + 301_000);
    expect(verifyWebhookSignature({ secret, body, header, now })).toEqual({ ok: false, reason: 'timestamp_too_old' });
    expect(verifyWebhookSignature({ secret, body, header, now: new Date(signedAt.getTime() + 300_000) }).ok).toBe(true);
  });

  test('rejects a timestamp too far in the future', () => {
    const now = new Date(signedAt.getTime() - 301_000);
    expect(verifyWebhookSignature({ secret, body, header, now })).toEqual({ ok: false, reason: 'timestamp_in_future' });
  });

  test('honours a custom tolerance', () => {
    const now = new Date(signedAt.getTime() + 20_000);
    expect(verifyWebhookSignature({ secret, body, header, now, toleranceSeconds: 10 })).toEqual({ ok: false, reason: 'timestamp_too_old' });
  });

  test('rejects a missing or empty header', () => {
    expect(verifyWebhookSignature({ secret, body, header: undefined, now: signedAt })).toEqual({ ok: false, reason: 'missing_header' });
    expect(verifyWebhookSignature({ secret, body, header: '  ', now: signedAt })).toEqual({ ok: false, reason: 'missing_header' });
  });

  test.each([
    ['no timestamp', `v1=${'a'.repeat(64)}`],
    ['no signature', `t=${unix}`],
    ['a non-numeric timestamp', `t=soon,v1=${'a'.repeat(64)}`],
    ['a truncated signature', `t=${unix},v1=abc123`],
    ['a non-hex signature', `t=${unix},v1=${'z'.repeat(64)}`],
    ['two timestamps', `t=${unix},t=${unix},v1=${'a'.repeat(64)}`],
    ['garbage', 'definitely not a signature'],
  ])('rejects a garbled header with %s', (_label, garbled) => {
    expect(verifyWebhookSignature({ secret, body, header: garbled, now: signedAt })).toEqual({ ok: false, reason: 'malformed_header' });
  });

  test('accepts any matching v1 entry and any configured secret during a rotation', () => {
    const oldSignature = signWebhook('old-secret', body, signedAt).split(',')[1];
    const rotated = `${header},${oldSignature}`;
    expect(verifyWebhookSignature({ secret, body, header: rotated, now: signedAt }).ok).toBe(true);
    expect(verifyWebhookSignature({ secret: ['old-secret', 'new-secret'], body, header: signWebhook('old-secret', body, signedAt), now: signedAt }).ok).toBe(
      true,
    );
  });

  test('ignores signature schemes it does not know', () => {
    expect(verifyWebhookSignature({ secret, body, header: `${header},v0=legacy`, now: signedAt }).ok).toBe(true);
  });
});

describe('assertWebhookSignature', () => {
  test('throws WebhookVerificationError carrying the reason', () => {
    const error = (() => {
      try {
        assertWebhookSignature({ secret, body, header: undefined });
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect(error).toMatchObject({ code: 'CONNECTOR_WEBHOOK_VERIFICATION', reason: 'missing_header' });
  });

  test('returns the signed time for a valid signature', () => {
    expect(assertWebhookSignature({ secret, body, header: signWebhook(secret, body, signedAt), now: signedAt })).toEqual(signedAt);
  });
});
