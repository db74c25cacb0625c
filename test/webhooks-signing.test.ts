import { generateSecret, secretProblem, sign, signatureHeaders, verify } from '../src/modules/webhooks';

/**
 * The Standard Webhooks specification's published test vector, from the
 * reference libraries of github.com/standard-webhooks/standard-webhooks
 * (libraries/javascript/src/webhook.test.ts, "sign function works"; the same
 * values are in the other languages' tests): secret, message id, timestamp,
 * body, and the signature every implementation must produce.
 */
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('Standard Webhooks signatures', () => {
  test("signing the spec's test vector gives its published signature", () => {
    expect(sign(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.body)).toBe(SPEC.signature);
    expect(signatureHeaders([SPEC.secret], SPEC.id, SPEC.timestamp, SPEC.body)).toEqual({
      'webhook-id': SPEC.id,
      'webhook-timestamp': String(SPEC.timestamp),
      'webhook-signature': SPEC.signature,
    });
  });

  test("verification accepts the vector within the tolerance and refuses a changed body, id, timestamp or an old message (the spec's cases)", () => {
    const now = SPEC.timestamp * 1000;
    const headers = { id: SPEC.id, timestamp: String(SPEC.timestamp), signature: SPEC.signature };
    expect(verify(SPEC.secret, headers, SPEC.body, { now })).toBe(true);
    expect(verify(SPEC.secret, headers, '{"test": 2432232315}', { now })).toBe(false);
    expect(verify(SPEC.secret, { ...headers, id: 'msg_other' }, SPEC.body, { now })).toBe(false);
    expect(verify(SPEC.secret, { ...headers, timestamp: 'hello' }, SPEC.body, { now })).toBe(false);
    // Outside five minutes either way: refused (replay protection).
    expect(verify(SPEC.secret, headers, SPEC.body, { now: now + 301_000 })).toBe(false);
    expect(verify(SPEC.secret, headers, SPEC.body, { now: now - 301_000 })).toBe(false);
    // A truncated or empty signature is refused.
    expect(verify(SPEC.secret, { ...headers, signature: SPEC.signature.slice(0, 8) }, SPEC.body, { now })).toBe(false);
    expect(verify(SPEC.secret, { ...headers, signature: 'v1,' }, SPEC.body, { now })).toBe(false);
  });

  test("a header with several signatures verifies when one of them is valid (the spec's multi-signature case)", () => {
    const now = SPEC.timestamp * 1000;
    const signature = [
      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
      'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
      SPEC.signature,
      'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
    ].join(' ');
    expect(verify(SPEC.secret, { id: SPEC.id, timestamp: String(SPEC.timestamp), signature }, SPEC.body, { now })).toBe(true);
  });

  test('during a rotation both secrets sign: a receiver holding either one verifies', () => {
    const previous = generateSecret();
    const current = generateSecret();
    const headers = signatureHeaders([current, previous], '42', SPEC.timestamp, SPEC.body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    const given = { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'] };
    for (const secret of [current, previous]) expect(verify(secret, given, SPEC.body, { now: SPEC.timestamp * 1000 })).toBe(true);
    expect(verify(generateSecret(), given, SPEC.body, { now: SPEC.timestamp * 1000 })).toBe(false);
  });

  test('secrets are whsec_ and base64 of 24 to 64 bytes', () => {
    expect(secretProblem(SPEC.secret)).toBeUndefined();
    expect(secretProblem(generateSecret())).toBeUndefined();
    expect(secretProblem('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')).toMatch(/whsec_/);
    expect(secretProblem('whsec_c2hvcnQ=')).toMatch(/24 to 64 bytes/);
    expect(secretProblem('whsec_not base64!')).toMatch(/base64/);
  });
});
