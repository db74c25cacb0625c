import { z } from 'zod';
import { deepestIssue } from './issue-path';

describe('deepestIssue', () => {
  const eventSchema = z.union([
    z.object({ type: z.literal('message'), data: z.object({ from: z.object({ phone: z.string() }), text: z.string() }) }),
    z.object({ type: z.literal('status'), data: z.object({ id: z.string() }) }),
  ]);

  test('a union reports the deepest issue of its branches, with its path, not "Invalid input" at the root', () => {
    const result = eventSchema.safeParse({ type: 'message', data: { from: { phone: 7 }, text: 'hi' } });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]).toMatchObject({ code: 'invalid_union', path: [] });
    expect(deepestIssue(result.error!.issues)).toMatchObject({
      path: 'data.from.phone',
      segments: ['data', 'from', 'phone'],
      code: 'invalid_type',
      message: expect.stringContaining('expected string'),
    });
  });

  test('a union nested in an object keeps the outer path; without a union the longest path wins', () => {
    const wrapped = z.object({ events: z.array(eventSchema) }).safeParse({ events: [{ type: 'status', data: {} }] });
    expect(deepestIssue(wrapped.error!.issues)?.path).toBe('events[0].data.id');
    const flat = z.object({ a: z.string(), b: z.object({ c: z.string() }) }).safeParse({ b: {} });
    expect(deepestIssue(flat.error!.issues)?.path).toBe('b.c');
    expect(deepestIssue([])).toBeUndefined();
  });
});
