import { isPhoneCountry, normalizeIdentifier } from './identifiers';
import { parseIngestBatch } from './ingest-batch';
import { createTestContext } from './testing';

const interaction = (phone: string, externalId: string) => ({
  customer: { identifiers: [{ type: 'phone', value: phone }] },
  channel: 'sms',
  type: 'message_received',
  occurredAt: '2024-05-01T12:00:00Z',
  externalId,
});

describe('identifiers: one implementation for the host and the kit', () => {
  test('a national phone number needs a default country; with one it becomes E.164', () => {
    expect(normalizeIdentifier({ type: 'phone', value: '07911 123456' })).toEqual({
      code: 'INVALID_IDENTIFIER',
      field: 'value',
      message: expect.stringContaining('international format'),
    });
    expect(normalizeIdentifier({ type: 'phone', value: '07911 123456' }, { defaultCountry: 'GB' })).toEqual({ type: 'phone', value: '+447911123456' });
    // An international number keeps its own country whatever the default.
    expect(normalizeIdentifier({ type: 'phone', value: '+1 (415) 555-2671' }, { defaultCountry: 'GB' })).toEqual({ type: 'phone', value: '+14155552671' });
    expect(normalizeIdentifier({ type: 'phone', value: 'abc' }, { defaultCountry: 'GB' })).toMatchObject({ code: 'INVALID_IDENTIFIER', field: 'value' });
    // A number in a range no line is given (Ofcom's drama numbers) is not a valid phone number.
    expect(normalizeIdentifier({ type: 'phone', value: '07700 900123' }, { defaultCountry: 'GB' })).toMatchObject({
      code: 'INVALID_IDENTIFIER',
      message: 'value is not a valid phone number',
    });
    expect([isPhoneCountry('GB'), isPhoneCountry('gb'), isPhoneCountry('XX'), isPhoneCountry('GBR')]).toEqual([true, false, false, false]);
  });

  test('createTestContext().emit refuses the identifiers the host refuses, by path, and reads national numbers with defaultCountry', async () => {
    const ctx = createTestContext({ config: {} });
    const result = await ctx.emit({
      interactions: [
        interaction('07700 900123', 'm1'),
        interaction('abc', 'm2'),
        interaction('+44 7911 123456', 'm3'),
        { ...interaction('x', 'm4'), customer: { identifiers: [{ type: 'email', value: 'not-an-address' }] } },
        { ...interaction('x', 'm5'), customer: { identifiers: [{ type: 'Bad Type!', value: 'u1' }] } },
      ],
    });
    expect(result).toMatchObject({ accepted: 1, rejected: 4 });
    expect(ctx.rejections.map((issue) => [issue.path, issue.code])).toEqual([
      ['interactions[0].customer.identifiers[0].value', 'INVALID_IDENTIFIER'],
      ['interactions[1].customer.identifiers[0].value', 'INVALID_IDENTIFIER'],
      ['interactions[3].customer.identifiers[0].value', 'INVALID_IDENTIFIER'],
      ['interactions[4].customer.identifiers[0].type', 'INVALID_IDENTIFIER'],
    ]);

    const british = createTestContext({ config: {}, defaultCountry: 'GB' });
    expect(await british.emit({ interactions: [interaction('07911 123456', 'm1'), interaction('07700 900123', 'm2')] })).toMatchObject({
      accepted: 1,
      rejected: 1,
    });
  });

  test('parseIngestBatch returns identifiers as the host stores them', () => {
    const parsed = parseIngestBatch(
      {
        customers: [
          {
            identifiers: [
              { type: ' Email ', value: ' Ada@Example.COM ' },
              { type: 'phone', value: '07911 123456' },
            ],
          },
        ],
      },
      { defaultCountry: 'GB' },
    );
    expect(parsed.ok && parsed.batch.customers?.[0]?.identifiers).toEqual([
      { type: 'email', value: 'ada@example.com' },
      { type: 'phone', value: '+447911123456' },
    ]);
  });
});
