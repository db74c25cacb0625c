import request from 'supertest';
import { SCOPES, type Scope } from '../../src/modules/access/scopes';
import type { TestApp } from './app';
import { gid, seedCustomers } from './segment-data';

/** The personal values of the victim: none of them may reach a key without pii:read. */
export const VICTIM = {
  name: 'Alice Victimson',
  email: 'alice.victim@example.org',
  ssn: '123-45-6789',
  phone: '+33612345678',
};
/** Substrings that betray a personal value of the victim, however it is quoted or cut. */
export const SECRETS = ['Victimson', 'alice.victim', '123-45-6789', '612345678'];

/** Every scope but pii:read (and admin, which implies it): the strongest key that must still see no personal data. */
export const WITHOUT_PII: Scope[] = SCOPES.filter((s) => s !== 'pii:read' && s !== 'admin');

export interface PersonalWorld {
  /** Database ids of customers by display name (`org` is the organisation). */
  ids: Map<string, string>;
  /** Global ids of customers by display name. */
  cid: (name: string) => string;
  /** Global ids of segments: `personal` (traits.ssn), `transitive` (inSegment personal), `contact` (traits.contact exists, not personal). */
  segments: { personal: string; transitive: string; contact: string };
  /** Global id of a connection with a few runs. */
  connection: string;
  /** A key with every scope but pii:read, and one with pii:read too. */
  narrow: string;
  pii: string;
  post(bearer: string, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse>;
}

/**
 * The data of an answer to a query written inline in a test, which has no
 * generated type: the test reads it by path, and a wrong path fails the test.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped on purpose, see above; the generated operations in test/operations are typed.
export type UntypedData = Record<string, any>;

export interface GraphQLResponse {
  status: number;
  text: string;
  data?: UntypedData;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; field?: string; [key: string]: unknown } }[];
}

export async function createKey(app: TestApp, scopes: Scope[]): Promise<string> {
  const res = await request(app.handler)
    .post('/graphql')
    .set('authorization', app.auth)
    .send({ query: 'mutation($s: [String!]!) { createApiKey(name: "personal-data test", scopes: $s) { key } }', variables: { s: scopes } });
  return res.body.data.createApiKey.key;
}

/**
 * A small world with one victim whose data is spread over every place a
 * personal value can sit: name, identifier, top-level, differently cased and
 * nested traits, interaction properties (nested too), and segments whose
 * rules test them.
 */
export async function seedPersonalWorld(app: TestApp): Promise<PersonalWorld> {
  const ids = await seedCustomers(app, [
    { name: 'Acme Corp', traits: { industry: 'finance' } },
    {
      name: VICTIM.name,
      email: VICTIM.email,
      lifecycleStage: 'customer',
      traits: {
        ssn: VICTIM.ssn,
        Email: VICTIM.email,
        industry: 'finance',
        contact: { email: VICTIM.email, city: 'Paris' },
        contacts: [{ EMAIL: VICTIM.email, kind: 'work' }],
        profile: { first_name: 'Alice', last_name: 'Victimson' },
      },
      interactions: [
        {
          channel: 'payment',
          type: 'purchase',
          daysAgo: 2.5,
          value: 20,
          properties: { email: VICTIM.email, name: VICTIM.name, phone: VICTIM.phone, contact: { Phone: VICTIM.phone }, sku: 'A-1' },
        },
        { channel: 'web', type: 'page_view', daysAgo: 1.5, properties: { url: '/pricing' } },
      ],
    },
    {
      name: 'Bob Builder',
      email: 'bob@example.com',
      traits: { industry: 'retail' },
      interactions: [{ channel: 'web', type: 'page_view', daysAgo: 3.5, properties: { url: '/' } }],
    },
    { name: 'Carol Client', email: 'carol@example.com', traits: { industry: 'finance', contact: { city: 'Lyon' } } },
    { name: 'Dave Doe', email: 'dave@example.com', traits: {} },
  ]);
  const [org, ...people] = ['Acme Corp', VICTIM.name, 'Bob Builder', 'Carol Client'].map((n) => ids.get(n)!);
  await app.sql(`UPDATE customers SET kind = 'ORGANIZATION' WHERE id = $1`, [org]);
  await app.sql(`UPDATE customers SET organization_id = $1 WHERE id = ANY($2::bigint[])`, [org, people]);

  const admin = (query: string, variables?: Record<string, unknown>) =>
    request(app.handler).post('/graphql').set('authorization', app.auth).send({ query, variables });
  const createSegment = async (name: string, rule: unknown) => {
    const res = await admin('mutation($input: SegmentInput!) { createSegment(input: $input) { id } }', { input: { name, rule } });
    if (!res.body.data) throw new Error(JSON.stringify(res.body.errors));
    const id: string = res.body.data.createSegment.id;
    await app.runtime.services.segments.memberships.refreshSegment(Buffer.from(id, 'base64').toString().split(':')[1]);
    return id;
  };
  const personal = await createSegment('ssn watch', { attribute: { field: 'traits.ssn', op: 'EQ', value: VICTIM.ssn } });
  const transitive = await createSegment('uses ssn watch', { inSegment: personal });
  const contact = await createSegment('finance with a contact', {
    and: [{ attribute: { field: 'traits.contact', op: 'EXISTS', value: true } }, { attribute: { field: 'traits.industry', op: 'EQ', value: 'finance' } }],
  });

  const [connection] = await app.sql<{ id: string }>(`INSERT INTO connections (connector, name) VALUES ('webhook', 'pii-test hooks') RETURNING id::text`);
  for (let i = 0; i < 3; i++) await app.sql(`INSERT INTO connector_runs (connection_id, kind, status) VALUES ($1, 'WEBHOOK', 'SUCCEEDED')`, [connection.id]);

  const post = async (bearer: string, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse> => {
    const res = await request(app.handler).post('/graphql').set('authorization', `Bearer ${bearer}`).send({ query, variables });
    return { status: res.status, text: res.text, ...res.body };
  };
  return {
    ids,
    cid: (name) => gid('Customer', ids.get(name)!),
    segments: { personal, transitive, contact },
    connection: gid('Connection', connection.id),
    narrow: await createKey(app, WITHOUT_PII),
    pii: await createKey(app, [...WITHOUT_PII, 'pii:read']),
    post,
  };
}

/** The response carries none of the victim's personal values. */
export function expectNoSecrets(response: { text: string }): void {
  for (const secret of SECRETS) expect({ secret, found: response.text.includes(secret) }).toEqual({ secret, found: false });
}

/** The one error of a response: its code and field. */
export function errorOf(response: GraphQLResponse): { code?: string; field?: string } {
  expect(response.errors?.length ?? 0).toBeGreaterThan(0);
  const { code, field } = response.errors![0].extensions ?? {};
  return { code, field };
}
