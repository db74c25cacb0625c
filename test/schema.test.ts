import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isInputObjectType, isInterfaceType, isObjectType, isEnumType, isScalarType } from 'graphql';
import { getSchema } from '../src/graphql/schema';
import { printSchemaSDL } from '../src/graphql/print';

const root = path.join(__dirname, '..');

describe('the schema is a product', () => {
  test('schema.graphql is printed from the code (run `npm run schema:print` after changing types)', () => {
    expect(readFileSync(path.join(root, 'schema.graphql'), 'utf8')).toBe(printSchemaSDL());
  });

  test('every type, field, argument, input field and enum value has a description', () => {
    const missing: string[] = [];
    for (const type of Object.values(getSchema().getTypeMap())) {
      if (type.name.startsWith('__') || ['String', 'Int', 'Float', 'Boolean', 'ID'].includes(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of field.args) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      } else if (isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) if (!field.description) missing.push(`${type.name}.${field.name}`);
      } else if (isEnumType(type)) {
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
      } else if (isScalarType(type) && !type.description) missing.push(type.name);
    }
    expect(missing).toEqual([]);
  });

  test('the contract names from ARCHITECTURE.md exist', () => {
    const schema = getSchema();
    const query = schema.getQueryType()!.getFields();
    const mutation = schema.getMutationType()!.getFields();
    expect(Object.keys(query)).toEqual(expect.arrayContaining(['node', 'customer', 'customers', 'interactions']));
    expect(Object.keys(mutation)).toEqual(expect.arrayContaining(['upsertCustomers', 'recordInteractions']));
    const customer = schema.getType('Customer');
    expect(isObjectType(customer) && Object.keys(customer.getFields())).toEqual(
      expect.arrayContaining([
        'id',
        'kind',
        'displayName',
        'identifiers',
        'traits',
        'lifecycleStage',
        'owner',
        'organization',
        'members',
        'createdAt',
        'updatedAt',
        'stats',
        'interactions',
      ]),
    );
    const refInput = schema.getType('CustomerRefInput');
    expect(isInputObjectType(refInput) && refInput.isOneOf).toBe(true);
  });

  test('test/generated/graphql.ts matches the operations and schema (run `npm run codegen`)', () => {
    const result = spawnSync(path.join(root, 'node_modules/.bin/graphql-codegen'), ['--config', 'codegen.ts', '--check'], { cwd: root, encoding: 'utf8' });
    expect({ status: result.status, output: result.stdout + result.stderr }).toMatchObject({ status: 0 });
  });
});
