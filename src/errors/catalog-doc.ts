import { CONNECTOR_ERROR_CODES } from '@rapport/connector-kit';
import { ERROR_CATALOG } from './catalog';

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** docs/errors.md, generated from {@link ERROR_CATALOG} (`npm run errors:doc`). */
export function renderErrorCatalog(): string {
  const rows = Object.entries(ERROR_CATALOG).map(
    ([code, spec]) =>
      `| \`${code}\` | ${spec.status} | ${cell(spec.message === '{detail}' ? '(per site: the constraint broken)' : `\`${spec.message}\``)} | ${cell(spec.doc)} |`,
  );
  const kit = Object.values(CONNECTOR_ERROR_CODES).map((code) => `- \`${code}\``);
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/errors/catalog.ts by `npm run errors:doc`; do not edit by hand. -->',
    '',
    'Every error a client can see carries one of these codes: `extensions.code` in GraphQL',
    'answers, `code` in the body of HTTP routes (imports, webhooks). A code never changes',
    'meaning. The status is the one HTTP routes answer with; GraphQL answers keep HTTP 200',
    'and carry the code, except UNAUTHENTICATED (401), RATE_LIMITED (429) and',
    'PAYLOAD_TOO_LARGE (413), which the server answers before any operation runs. In',
    'messages, `{name}` stands for a value of the request; `field` (in `extensions` or in',
    'a row error) names the input at fault.',
    '',
    '| Code | HTTP status | Message | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '## Connector kit codes',
    '',
    "Plugins throw the connector kit's own errors (`packages/connector-kit/src/errors.ts`, where each",
    'is documented); the host records them on sync runs and connections and decides from the',
    'code whether to retry.',
    '',
    ...kit,
    '',
  ].join('\n');
}
