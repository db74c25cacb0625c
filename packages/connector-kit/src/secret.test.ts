import { z } from 'zod';
import { describeConfig, endpoint, endpointKeys, isEndpoint, isSecret, redactSecrets, REDACTED, secret, secretKeys } from './secret';

const config = z.object({
  apiKey: secret(z.string().min(8)).describe('API key from Acme → Settings → API'),
  signingSecret: secret(z.string()).optional(),
  subdomain: z.string().describe('The part before .acme.test'),
  baseUrl: z.url().default('https://api.acme.test'),
  pageSize: z.int().min(1).max(500).default(100),
  ratio: z.number().optional(),
  region: z.enum(['eu', 'us']).default('eu'),
  includeArchived: z.boolean().prefault(false),
  tags: z.array(z.string()).optional(),
  note: z.string().nullable().optional(),
  oauth: z.object({ clientId: z.string(), clientSecret: secret(z.string()) }).optional(),
});

describe('secret', () => {
  test('marks a field without changing what it accepts', () => {
    const field = secret(z.string().min(3));
    expect(field.safeParse('abcd').success).toBe(true);
    expect(field.safeParse('ab').success).toBe(false);
  });

  test('survives describe, meta, added checks and wrappers', () => {
    const field = secret(z.string());
    expect(isSecret(field.describe('key').min(3))).toBe(true);
    expect(isSecret(field.meta({ title: 'Key' }))).toBe(true);
    expect(isSecret(field.optional().default('x'))).toBe(true);
    expect(isSecret(field.nullable())).toBe(true);
  });

  test('does not mark the schema it was given', () => {
    const shared = z.string();
    secret(shared);
    expect(isSecret(shared)).toBe(false);
  });

  test('shows as writeOnly in JSON Schema', () => {
    expect(z.toJSONSchema(z.object({ apiKey: secret(z.string()) })).properties?.['apiKey']).toEqual({ type: 'string', writeOnly: true });
  });
});

describe('secretKeys', () => {
  test('lists the secret fields, including nested ones, in declaration order', () => {
    expect(secretKeys(config)).toEqual(['apiKey', 'signingSecret', 'oauth.clientSecret']);
  });

  test('returns nothing for a config without secrets', () => {
    expect(secretKeys(z.object({ subdomain: z.string() }))).toEqual([]);
  });
});

describe('endpoint', () => {
  test('marks a field, guesses from URL, host and IP formats and from names, and can opt a field out', () => {
    expect(isEndpoint('account', endpoint(z.string()).describe('Acme account'))).toBe(true);
    expect(isEndpoint('feed', z.url())).toBe(true);
    expect(isEndpoint('mirrors', z.array(z.url()))).toBe(true);
    expect(isEndpoint('node', z.ipv4().optional())).toBe(true);
    for (const name of [
      'url',
      'baseUrl',
      'base_url',
      'API-URI',
      'host',
      'smtpHostname',
      'endpoint',
      'domain',
      'subdomain',
      'server',
      'origin',
      'tenant',
      'hosts',
    ]) {
      expect([name, isEndpoint(name, z.string())]).toEqual([name, true]);
    }
    for (const name of ['pageSize', 'channel', 'apiVersion', 'hostingPlan']) {
      expect([name, isEndpoint(name, z.string())]).toEqual([name, false]);
    }
    expect(isEndpoint('imageHost', endpoint(z.string(), false))).toBe(false);
  });

  test('endpointKeys lists endpoint fields as dotted paths, never secrets', () => {
    expect(endpointKeys(config)).toEqual(['subdomain', 'baseUrl']);
    expect(
      endpointKeys(
        z.object({
          apiKey: secret(z.string()),
          oauth: z.object({ tokenUrl: z.url(), clientSecret: secret(z.string()) }),
          pageSize: z.int(),
          secretHost: secret(z.string()),
        }),
      ),
    ).toEqual(['oauth.tokenUrl']);
  });
});

describe('describeConfig', () => {
  test('describes each field as JSON: name, type, required, secret, description and default', () => {
    const described = describeConfig(config);
    expect(JSON.parse(JSON.stringify(described))).toEqual(described);
    expect(described).toEqual([
      { name: 'apiKey', type: 'string', required: true, secret: true, nullable: false, description: 'API key from Acme → Settings → API' },
      { name: 'signingSecret', type: 'string', required: false, secret: true, nullable: false },
      { name: 'subdomain', type: 'string', required: true, secret: false, endpoint: true, nullable: false, description: 'The part before .acme.test' },
      { name: 'baseUrl', type: 'string', format: 'url', required: false, secret: false, endpoint: true, nullable: false, default: 'https://api.acme.test' },
      { name: 'pageSize', type: 'integer', format: 'safeint', required: false, secret: false, nullable: false, default: 100 },
      { name: 'ratio', type: 'number', required: false, secret: false, nullable: false },
      { name: 'region', type: 'enum', values: ['eu', 'us'], required: false, secret: false, nullable: false, default: 'eu' },
      { name: 'includeArchived', type: 'boolean', required: false, secret: false, nullable: false, default: false },
      {
        name: 'tags',
        type: 'array',
        required: false,
        secret: false,
        nullable: false,
        items: { name: '[]', type: 'string', required: true, secret: false, nullable: false },
      },
      { name: 'note', type: 'string', required: false, secret: false, nullable: true },
      {
        name: 'oauth',
        type: 'object',
        required: false,
        secret: false,
        nullable: false,
        fields: [
          { name: 'clientId', type: 'string', required: true, secret: false, nullable: false },
          { name: 'clientSecret', type: 'string', required: true, secret: true, nullable: false },
        ],
      },
    ]);
  });

  test('never includes the default of a secret field', () => {
    const [field] = describeConfig(z.object({ token: secret(z.string()).default('dev-token') }));
    expect(field).toEqual({ name: 'token', type: 'string', required: false, secret: true, nullable: false });
  });
});

describe('redactSecrets', () => {
  test('replaces secret values, nested ones included, and leaves the rest', () => {
    expect(redactSecrets(config, { apiKey: 'sk_live_12345678', subdomain: 'demo', oauth: { clientId: 'c1', clientSecret: 'shh' } })).toEqual({
      apiKey: REDACTED,
      subdomain: 'demo',
      oauth: { clientId: 'c1', clientSecret: REDACTED },
    });
  });

  test('leaves absent secrets absent', () => {
    expect(redactSecrets(config, { apiKey: 'sk_live_12345678' })).toEqual({ apiKey: REDACTED });
  });
});
