import { Writable } from 'node:stream';
import { createLogger } from './logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: createLogger('info', {}, stream), lines };
}

describe('error logs', () => {
  test('an Error is logged with its type, message and code, never with the failed query’s parameters', () => {
    const { logger, lines } = capture();
    const error = Object.assign(new Error('duplicate key'), { code: '23505', query: 'INSERT INTO t VALUES ($1)', parameters: ['secret@example.com'] });
    logger.warn({ err: error }, 'write failed');
    expect(lines[0]!.err).toMatchObject({ type: 'Error', message: 'duplicate key', code: '23505', query: 'INSERT INTO t VALUES ($1)' });
    expect(JSON.stringify(lines[0])).not.toContain('secret@example.com');
  });

  test('a plain object emitted as an error says what it holds: its wrapped Error, or its fields', () => {
    const { logger, lines } = capture();
    logger.warn({ err: { error: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) } }, 'worker error');
    logger.warn({ err: { reason: 'connection lost', attempt: 3 } }, 'queue error');
    logger.warn({ err: 'just a string' }, 'odd');
    expect(lines.map((l) => l.err)).toMatchObject([
      { message: 'terminating connection due to administrator command', code: '57P01' },
      { message: '{"reason":"connection lost","attempt":3}' },
      { message: 'just a string' },
    ]);
  });
});
