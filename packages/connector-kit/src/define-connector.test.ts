import { z } from 'zod';
import { CONNECTOR_API_VERSION, defineConnector, sourceKeyOf, validateConnectorDefinition } from './define-connector';
import { ConnectorLoadError } from './errors';
import { secret } from './secret';

function validDefinition(): Record<string, unknown> {
  return {
    id: 'acme-helpdesk',
    apiVersion: 1,
    version: '1.2.0',
    displayName: 'Acme Helpdesk',
    description: 'Tickets from Acme Helpdesk.',
    config: z.object({ apiKey: secret(z.string()), subdomain: z.string() }),
    sync: async () => ({ nextState: {} }),
  };
}

function loadError(value: unknown): ConnectorLoadError {
  try {
    validateConnectorDefinition(value);
  } catch (error) {
    if (error instanceof ConnectorLoadError) return error;
    throw error;
  }
  throw new Error('expected validateConnectorDefinition to throw');
}

describe('defineConnector', () => {
  test('returns a frozen definition typed by its config schema', async () => {
    const acme = defineConnector({
      id: 'acme-helpdesk',
      apiVersion: CONNECTOR_API_VERSION,
      version: '1.2.0',
      displayName: 'Acme Helpdesk',
      description: 'Tickets from Acme Helpdesk.',
      config: z.object({ apiKey: secret(z.string()), pageSize: z.number().default(50) }),
      sync: async (ctx, state: Readonly<{ seen: number }> | undefined) => {
        const pageSize: number = ctx.config.pageSize;
        return { nextState: { seen: (state?.seen ?? 0) + pageSize } };
      },
    });
    expect(Object.isFrozen(acme)).toBe(true);
    expect(acme.id).toBe('acme-helpdesk');
    expect(() => {
      (acme as { id: string }).id = 'other';
    }).toThrow(TypeError);
  });

  test('throws ConnectorLoadError at definition time for a broken definition', () => {
    expect(() => defineConnector({ ...validDefinition(), id: 'Acme Helpdesk' } as never)).toThrow(ConnectorLoadError);
  });
});

describe('validateConnectorDefinition', () => {
  test('accepts a valid definition and returns it frozen', () => {
    const definition = validateConnectorDefinition(validDefinition());
    expect(definition.id).toBe('acme-helpdesk');
    expect(Object.isFrozen(definition)).toBe(true);
  });

  test('accepts prerelease and build versions', () => {
    expect(validateConnectorDefinition({ ...validDefinition(), version: '2.0.0-beta.1+build.7' }).version).toBe('2.0.0-beta.1+build.7');
  });

  test.each([
    ['a module namespace that is not an object', 'acme', 'CONNECTOR_LOAD_NOT_A_DEFINITION', undefined],
    ['null', null, 'CONNECTOR_LOAD_NOT_A_DEFINITION', undefined],
  ])('rejects %s', (_label, value, code, field) => {
    expect(loadError(value)).toMatchObject({ code, field });
  });

  test.each([['Acme'], ['acme_helpdesk'], ['-acme'], ['acme-'], ['1acme'], ['a'.repeat(65)], [42]])('rejects the id %p as not a lowercase slug', (id) => {
    const error = loadError({ ...validDefinition(), id });
    expect(error).toMatchObject({ code: 'CONNECTOR_LOAD_INVALID_ID', field: 'id' });
    expect(error.message).toContain('lowercase slug');
  });

  test('rejects an unsupported apiVersion with a message naming the supported versions', () => {
    const error = loadError({ ...validDefinition(), apiVersion: 2 });
    expect(error).toMatchObject({ code: 'CONNECTOR_LOAD_UNSUPPORTED_API_VERSION', field: 'apiVersion', connectorId: 'acme-helpdesk' });
    expect(error.message).toBe(
      'Connector "acme-helpdesk": targets connector API version 2, but this Rapport supports version 1. Upgrade Rapport, or install a release of the connector built for a supported version.',
    );
  });

  test('rejects a missing apiVersion and says which to declare', () => {
    const { apiVersion: _omitted, ...rest } = validDefinition();
    const error = loadError(rest);
    expect(error.code).toBe('CONNECTOR_LOAD_UNSUPPORTED_API_VERSION');
    expect(error.message).toContain('Declare apiVersion: 1');
  });

  test('checks the API version before the rest of the shape', () => {
    expect(loadError({ id: 'acme', apiVersion: 3, somethingNew: true }).code).toBe('CONNECTOR_LOAD_UNSUPPORTED_API_VERSION');
  });

  test.each([['1.2'], ['v1.2.0'], ['01.2.0'], ['latest'], [1]])('rejects the version %p as not semver', (version) => {
    expect(loadError({ ...validDefinition(), version })).toMatchObject({ code: 'CONNECTOR_LOAD_INVALID_VERSION', field: 'version' });
  });

  test.each([
    ['a plain object', { apiKey: 'string' }],
    ['a zod string schema', z.string()],
    ['nothing', undefined],
  ])('rejects a config that is %s', (_label, config) => {
    const error = loadError({ ...validDefinition(), config });
    expect(error).toMatchObject({ code: 'CONNECTOR_LOAD_INVALID_CONFIG_SCHEMA', field: 'config' });
    expect(error.message).toContain('zod 4 object schema');
  });

  test('rejects a definition with neither webhook nor sync', () => {
    const { sync: _omitted, ...rest } = validDefinition();
    expect(loadError(rest)).toMatchObject({ code: 'CONNECTOR_LOAD_NO_CAPABILITY' });
  });

  test('accepts a webhook-only definition', () => {
    const { sync: _omitted, ...rest } = validDefinition();
    expect(() => validateConnectorDefinition({ ...rest, webhook: { verify: () => true, parse: () => ({}) } })).not.toThrow();
  });

  test('names the webhook method that is missing', () => {
    expect(loadError({ ...validDefinition(), webhook: { verify: () => true } })).toMatchObject({
      code: 'CONNECTOR_LOAD_INVALID_FIELD',
      field: 'webhook.parse',
    });
  });

  test('rejects a sync or check that is not a function', () => {
    expect(loadError({ ...validDefinition(), sync: 'daily' })).toMatchObject({ code: 'CONNECTOR_LOAD_INVALID_FIELD', field: 'sync' });
    expect(loadError({ ...validDefinition(), check: true })).toMatchObject({ code: 'CONNECTOR_LOAD_INVALID_FIELD', field: 'check' });
  });

  test('rejects an empty displayName or description', () => {
    expect(loadError({ ...validDefinition(), displayName: ' ' })).toMatchObject({ field: 'displayName' });
    expect(loadError({ ...validDefinition(), description: undefined })).toMatchObject({ field: 'description' });
  });

  test('rejects an unknown field, so a typo is caught', () => {
    const error = loadError({ ...validDefinition(), syncs: async () => ({ nextState: {} }) });
    expect(error).toMatchObject({ code: 'CONNECTOR_LOAD_INVALID_FIELD', field: 'syncs' });
  });

  test('validates the http policy and names the bad setting', () => {
    expect(() => validateConnectorDefinition({ ...validDefinition(), http: { rateLimit: { requests: 10, intervalMs: 1_000 } } })).not.toThrow();
    expect(loadError({ ...validDefinition(), http: { rateLimit: { requests: 0, intervalMs: 1_000 } } })).toMatchObject({
      code: 'CONNECTOR_LOAD_INVALID_FIELD',
      field: 'http.rateLimit.requests',
    });
  });
});

describe('sourceKey', () => {
  const base = {
    id: 'keyed',
    apiVersion: 1 as const,
    version: '1.0.0',
    displayName: 'Keyed',
    description: 'A connector that names its remote account.',
    config: z.object({ account: z.string().optional() }),
    sync: async () => ({ nextState: {}, hasMore: false }),
  };

  test('is part of the contract: a function, or the definition is refused naming it', () => {
    expect(() => defineConnector({ ...base, sourceKey: (config) => config.account })).not.toThrow();
    expect(() => validateConnectorDefinition({ ...base, sourceKey: 'acct' })).toThrow(
      expect.objectContaining({ code: 'CONNECTOR_LOAD_INVALID_FIELD', field: 'sourceKey' }),
    );
  });

  test('sourceKeyOf trims the key, allows none, and refuses empty, long or control-character keys and throws', () => {
    const keyed = defineConnector({ ...base, sourceKey: (config) => config.account });
    expect(sourceKeyOf(keyed, { account: ' acct_81 ' })).toEqual({ ok: true, key: 'acct_81' });
    expect(sourceKeyOf(keyed, {})).toEqual({ ok: true, key: undefined });
    expect(sourceKeyOf(defineConnector(base), { account: 'x' })).toEqual({ ok: true, key: undefined });
    for (const account of ['  ', 'a'.repeat(201), 'acct\n81']) expect(sourceKeyOf(keyed, { account })).toMatchObject({ ok: false });
    const throwing = defineConnector({
      ...base,
      sourceKey: () => {
        throw new Error('no account');
      },
    });
    expect(sourceKeyOf(throwing, {})).toEqual({ ok: false, message: 'sourceKey threw: no account' });
  });
});
