/**
 * Child process of the plugin loader: requires each plugin entry given on the
 * command line, announcing each before and after, so the parent can tell which
 * plugin hung or killed the process while loading. Loads nothing else.
 */
import { aliasConnectorKit } from './plugin-loader';

aliasConnectorKit();
const entries = process.argv.slice(2);
entries.forEach((entry, index) => {
  process.stdout.write(`loading ${index}\n`);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(entry);
    process.stdout.write(`ok ${index}\n`);
  } catch (error) {
    process.stdout.write(`error ${index} ${JSON.stringify(error instanceof Error ? error.message : String(error))}\n`);
  }
});
