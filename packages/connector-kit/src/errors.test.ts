import { CONNECTOR_ERROR_CODES, RateLimitedError, RetryableError } from './errors';

describe('RateLimitedError', () => {
  test('takes its options alone, as the docs show, with a default message', () => {
    const error = new RateLimitedError({ retryAfterMs: 60_000 });
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({
      code: CONNECTOR_ERROR_CODES.RATE_LIMITED,
      retryAfterMs: 60_000,
      retryable: true,
      message: 'rate limited: retry after 60000 ms',
    });
    expect(new RateLimitedError({ retryAfterMs: 5, message: 'Acme quota used up', status: 429 })).toMatchObject({
      message: 'Acme quota used up',
      retryAfterMs: 5,
      status: 429,
    });
  });

  test('keeps the message-first form', () => {
    expect(new RateLimitedError('quota used up', { retryAfterMs: 1_000 })).toMatchObject({ message: 'quota used up', retryAfterMs: 1_000 });
  });

  test('refuses a missing or negative wait', () => {
    expect(() => new RateLimitedError({} as never)).toThrow(TypeError);
    expect(() => new RateLimitedError('x', { retryAfterMs: -1 })).toThrow(TypeError);
  });
});
