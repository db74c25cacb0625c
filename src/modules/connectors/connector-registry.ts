import { fail } from '../../errors/catalog';
import type { PluginManifest } from '../../plugin-host/protocol';
import { loadPlugins, type LoadedPlugin, type LoadPluginsOptions } from './plugin-loader';
import type { RunnablePlugin } from './plugin-hosts';

/** A plugin that loaded: its manifest, and where its code is (for its hosts). */
export interface AvailableConnector {
  manifest: PluginManifest;
  plugin: RunnablePlugin;
}

/** The plugins this process found, loaded or failed, by id. */
export class ConnectorRegistry {
  private readonly byId = new Map<string, LoadedPlugin>();

  constructor(readonly plugins: LoadedPlugin[]) {
    for (const plugin of plugins) if (!this.byId.has(plugin.id) || plugin.status === 'LOADED') this.byId.set(plugin.id, plugin);
  }

  static load(options: LoadPluginsOptions): ConnectorRegistry {
    return new ConnectorRegistry(loadPlugins(options));
  }

  /** Every plugin found, in discovery order. */
  list(): LoadedPlugin[] {
    return this.plugins;
  }

  find(id: string): LoadedPlugin | undefined {
    return this.byId.get(id);
  }

  /** A loaded connector, or a RapportError naming why it cannot be used. */
  require(id: string, field = 'connector'): AvailableConnector {
    const plugin = this.byId.get(id);
    if (!plugin) {
      const known = this.plugins.filter((p) => p.status === 'LOADED').map((p) => p.id);
      throw fail('CONNECTOR_NOT_FOUND', { id, installed: known.join(', ') || 'none' }, field);
    }
    if (plugin.status !== 'LOADED') throw fail('CONNECTOR_UNAVAILABLE', { detail: `connector "${id}" failed to load: ${plugin.error}` }, field);
    return { manifest: plugin.manifest, plugin: { id: plugin.id, entry: plugin.entry, root: plugin.root } };
  }
}
