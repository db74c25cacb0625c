import { parseIngestBatch, type IngestBatch } from './ingest-batch';

const ada = { identifiers: [{ type: 'email', value: 'ada@example.com' }] };

function errorsOf(value: unknown) {
  const result = parseIngestBatch(value);
  if (result.ok) throw new Error('expected the batch to be rejected');
  return result.errors.map((error) => ({ path: error.path, message: error.message }));
}

describe('parseIngestBatch', () => {
  test('accepts a full batch and normalises dates, currencies and whitespace', () => {
    const batch: IngestBatch = {
      customers: [
        {
          identifiers: [
            { type: 'email', value: ' ada@example.com ' },
            { type: 'shopify', value: '7781' },
          ],
          kind: 'PERSON',
          displayName: 'Ada Lovelace',
          traits: { plan: 'pro', seats: 3, flags: ['beta'], address: { city: 'London' } },
          lifecycleStage: 'customer',
          owner: 'sam@rapport.test',
          organization: { identifiers: [{ type: 'domain', value: 'example.com' }] },
        },
      ],
      interactions: [
        {
          customer: ada,
          channel: 'payment',
          type: 'purchase',
          occurredAt: '2024-05-01T12:00:00+02:00',
          value: 42.5,
          currency: 'eur',
          direction: 'INBOUND',
          sentiment: 0.4,
          properties: { orderId: 'o_1' },
          externalId: 'ch_1',
        },
        { customer: ada, channel: 'email', type: 'open', occurredAt: new Date('2024-05-02T08:00:00Z'), externalId: 'evt_2' },
      ],
    };
    const result = parseIngestBatch(batch);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.batch.customers?.[0]?.identifiers[0]).toEqual({ type: 'email', value: 'ada@example.com' });
    expect(result.batch.interactions?.[0]).toMatchObject({ currency: 'EUR', occurredAt: new Date('2024-05-01T10:00:00Z') });
    expect(result.batch.interactions?.[1]?.occurredAt).toEqual(new Date('2024-05-02T08:00:00Z'));
  });

  test('accepts an empty batch', () => {
    expect(parseIngestBatch({})).toEqual({ ok: true, batch: {} });
  });

  test('reports each problem with its path', () => {
    expect(
      errorsOf({
        customers: [{ identifiers: [] }, { identifiers: [{ type: 'email', value: '' }], kind: 'ROBOT' }],
        interactions: [
          {
            customer: { identifiers: [{ type: 'email' }] },
            channel: 'email',
            type: 'open',
            occurredAt: '2024-05-01T12:00:00',
            currency: 'euro',
            sentiment: 2,
            externalId: 'e1',
          },
        ],
      }),
    ).toEqual([
      { path: 'customers[0].identifiers', message: 'needs at least one identifier' },
      { path: 'customers[1].identifiers[0].value', message: 'must not be empty' },
      { path: 'customers[1].kind', message: 'Invalid option: expected one of "PERSON"|"ORGANIZATION"' },
      { path: 'interactions[0].customer.identifiers[0].value', message: 'Invalid input: expected string, received undefined' },
      { path: 'interactions[0].occurredAt', message: 'must be a Date or an ISO 8601 date-time with a time zone, such as 2024-05-01T12:00:00Z' },
      { path: 'interactions[0].currency', message: 'must be a 3-letter ISO 4217 currency code such as EUR' },
      { path: 'interactions[0].sentiment', message: 'must be between -1 and 1' },
    ]);
  });

  test('requires the fields an interaction cannot do without', () => {
    expect(errorsOf({ interactions: [{ channel: 'email' }] }).map((error) => error.path)).toEqual([
      'interactions[0].customer',
      'interactions[0].type',
      'interactions[0].occurredAt',
      'interactions[0].externalId',
    ]);
  });

  test('rejects an unknown field at the field itself, so a typo is reported', () => {
    expect(errorsOf({ interactions: [{ customer: ada, channel: 'email', type: 'open', occurredAt: new Date(0), externalId: 'e', externalID: 'e' }] })).toEqual([
      { path: 'interactions[0].externalID', message: 'Unknown field "externalID"' },
    ]);
    expect(errorsOf({ events: [] })).toEqual([{ path: 'events', message: 'Unknown field "events"' }]);
  });

  test('rejects properties and traits that are not JSON, naming the key', () => {
    expect(
      errorsOf({
        customers: [{ ...ada, traits: { signedUpAt: new Date(0) } }],
        interactions: [{ customer: ada, channel: 'web', type: 'page_view', occurredAt: new Date(0), externalId: 'p1', properties: { score: Number.NaN } }],
      }).map((error) => error.path),
    ).toEqual(['customers[0].traits.signedUpAt', 'interactions[0].properties.score']);
  });

  test('rejects an invalid Date and a non-finite value', () => {
    expect(
      errorsOf({ interactions: [{ customer: ada, channel: 'payment', type: 'purchase', occurredAt: new Date('nope'), value: Infinity, externalId: 'x' }] }).map(
        (error) => error.path,
      ),
    ).toEqual(['interactions[0].occurredAt', 'interactions[0].value']);
  });

  test('rejects a batch that is not an object', () => {
    expect(errorsOf(null)).toEqual([{ path: '', message: 'Invalid input: expected object, received null' }]);
  });
});
