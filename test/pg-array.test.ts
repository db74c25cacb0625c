import { Client } from 'pg';
import { pgArray } from '../src/infra/pg-array';
import { adminUrl } from './helpers/database';

let client: Client;
beforeAll(async () => {
  client = new Client({ connectionString: adminUrl() });
  await client.connect();
});
afterAll(() => client.end());

describe('pgArray (array parameters of the batch writes)', () => {
  test('Postgres reads back every text exactly: quotes, backslashes, separators, braces, blanks, NULL and the word NULL', async () => {
    const values = [
      'plain',
      'with "quotes"',
      'back\\slash\\',
      'a,b',
      '{braces}',
      '',
      '  padded  ',
      'NULL',
      null,
      undefined,
      'ünïcødé ✓',
      '\\"',
      'line\nbreak',
      '{"json": "object", "n": [1, 2]}',
    ];
    const { rows } = await client.query('SELECT $1::text[] AS a', [pgArray(values)]);
    expect(rows[0].a).toEqual(values.map((v) => v ?? null));
  });

  test('numbers, ids and JSON documents keep their values through numeric, real, bigint and jsonb arrays', async () => {
    const { rows } = await client.query('SELECT $1::numeric[]::text[] AS n, $2::real[] AS r, $3::bigint[]::text[] AS b, $4::jsonb[] AS j', [
      pgArray([19.9, -0.0001, 1e13, null]),
      pgArray([0.5, -1, null]),
      pgArray(['1', '9007199254740993']),
      pgArray(['{"a": "x\\"y"}', '{}']),
    ]);
    expect(rows[0]).toEqual({ n: ['19.9', '-0.0001', '10000000000000', null], r: [0.5, -1, null], b: ['1', '9007199254740993'], j: [{ a: 'x"y' }, {}] });
  });

  test('numbers alone (no NULL) keep their values, NaN and infinities included, through float8 and numeric arrays', async () => {
    const values = [0.1 + 0.2, -1e-300, 1.7976931348623157e308, 5e-324, 42, NaN, Infinity, -Infinity];
    const { rows } = await client.query('SELECT $1::float8[] AS f, $2::numeric[]::text[] AS n', [pgArray(values), pgArray([19.9, -0.0001, 1e13])]);
    expect(rows[0].f).toEqual(values);
    expect(rows[0].n).toEqual(['19.9', '-0.0001', '10000000000000']);
  });

  test('an empty list is an empty array', async () => {
    const { rows } = await client.query('SELECT cardinality($1::text[]) AS n', [pgArray([])]);
    expect(rows[0].n).toBe(0);
  });
});
