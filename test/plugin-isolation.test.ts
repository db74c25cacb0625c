import path from 'node:path';
import { loadPlugins } from '../src/modules/connectors/plugin-loader';

describe('plugin load isolation', () => {
  test('a plugin that hangs or ends the process while loading is reported, and the host and the other plugins carry on', () => {
    const plugins = loadPlugins({ pluginsDir: path.join(__dirname, 'fixtures/unruly-plugins'), loadTimeoutMs: 5_000 });
    const byFolder = Object.fromEntries(plugins.map((p) => [path.basename(p.source.location), p]));
    expect(byFolder.fine).toMatchObject({ status: 'LOADED', id: 'fine' });
    expect(byFolder.hangs).toMatchObject({ status: 'FAILED', error: expect.stringContaining('did not finish loading within 5000 ms') });
    expect(byFolder.exits).toMatchObject({ status: 'FAILED', error: expect.stringContaining('ended the process while loading (exit 3)') });
  });
});
