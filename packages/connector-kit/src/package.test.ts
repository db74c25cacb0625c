import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONNECTOR_API_VERSION, SUPPORTED_CONNECTOR_API_VERSIONS } from './define-connector';

const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  exports: Record<string, unknown>;
};

describe('the @rapport/connector-kit package', () => {
  test('is versioned by the contract: its major version is the connector API version', () => {
    expect(manifest.name).toBe('@rapport/connector-kit');
    expect(Number(manifest.version.split('.')[0])).toBe(CONNECTOR_API_VERSION);
    expect(SUPPORTED_CONNECTOR_API_VERSIONS).toContain(CONNECTOR_API_VERSION);
  });

  test('depends on nothing of the server: its files import Node, its own files and its declared dependencies only', () => {
    // Its own name is allowed: the examples in its doc comments import it as a partner does.
    const dependencies = [manifest.name, ...Object.keys(manifest.dependencies ?? {})];
    const strays: string[] = [];
    const visit = (folder: string) => {
      for (const entry of readdirSync(folder, { withFileTypes: true })) {
        const file = path.join(folder, entry.name);
        if (entry.isDirectory()) visit(file);
        else if (entry.name.endsWith('.ts')) {
          // Import statements, dynamic imports and requires; not the word from or import inside a string.
          const found = readFileSync(file, 'utf8').matchAll(/(?<![\w'"])(?:from|import)\s+'([^']+)'|(?:import|require)\(\s*'([^']+)'/g);
          for (const [, statement, call] of found) {
            const specifier = statement ?? call;
            const inside = specifier.startsWith('.') && !path.relative(__dirname, path.resolve(folder, specifier)).startsWith('..');
            const declared = dependencies.some((name) => specifier === name || specifier.startsWith(`${name}/`));
            if (!inside && !declared && !specifier.startsWith('node:')) strays.push(`${path.relative(__dirname, file)}: ${specifier}`);
          }
        }
      }
    };
    visit(__dirname);
    expect(strays).toEqual([]);
    expect(Object.keys(manifest.exports)).toEqual(['.', './testing', './jest-preset', './package.json']);
  });
});
