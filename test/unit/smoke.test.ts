import { Client } from 'pg';
test('the test cluster answers', async () => {
  const client = new Client({ connectionString: process.env.RAPPORT_TEST_PG_ADMIN_URL });
  await client.connect();
  const { rows } = await client.query('select 1 as one');
  await client.end();
  expect(rows[0].one).toBe(1);
});
