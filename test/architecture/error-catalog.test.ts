import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CONNECTOR_ERROR_CODES } from '@rapport/connector-kit';
import { ERROR_CATALOG, errorMessage, fail, RapportError } from '../../src/errors/catalog';
import { renderErrorCatalog } from '../../src/errors/catalog-doc';

const ROOT = join(__dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** Every source file of the server and the kit, without the unit tests that sit next to them. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC).map((path) => ({ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }));
const CATALOG_FILE = join('src', 'errors', 'catalog.ts');

/** The connector kit's codes: its own contract (it imports nothing of the server), known here as a second table. */
const KIT_CODES = new Set<string>(Object.values(CONNECTOR_ERROR_CODES));
const CATALOG_CODES = new Set(Object.keys(ERROR_CATALOG));

/** Upper-case strings that sit where codes sit but never reach a client, with why. */
const FOREIGN_CODES: Record<string, string> = {
  ERR_ACCESS_DENIED: "Node's permission-model code, imitated by the plugin sandbox so plugins see what Node would throw",
  INSUFFICIENT_DATA: 'a ModelFitError code inside the scores module, answered to clients as MODEL_NOT_FITTED',
  EPERM: "a Node system error's code, read from a caught error",
  ETIMEDOUT: "a Node system error's code, read from a caught error",
  ENOBUFS: "a Node system error's code, read from a caught error",
};

/** Catalog entries that no code in src/ produces, with why they stay. None today. */
const CLIENT_ONLY: Record<string, string> = {};

/** Each way src/ names a code: the catalog's constants, the helpers, and string literals where a code goes. */
const CODE_PATTERNS: RegExp[] = [
  /\bErrorCode\.([A-Z][A-Z0-9_]*)/g,
  /\b(?:fail|errorMessage|rowError)\(\s*'([A-Z][A-Z0-9_]*)'/g,
  /\bnew (?:RapportError|ConnectorError|ConnectorLoadError)\(\s*'([A-Z][A-Z0-9_]*)'/g,
  /\bcode:\s*'([A-Z][A-Z0-9_]*)'/g,
  /\bcode\s*===?\s*'([A-Z][A-Z0-9_]*)'/g,
];

interface Use {
  code: string;
  path: string;
}

function uses(): Use[] {
  const found: Use[] = [];
  for (const { path, text } of files) {
    if (path === CATALOG_FILE) continue;
    for (const pattern of CODE_PATTERNS) {
      for (const match of text.matchAll(pattern)) found.push({ code: match[1]!, path });
    }
    for (const match of text.matchAll(/\bCONNECTOR_ERROR_CODES\.([A-Z][A-Z0-9_]*)/g)) {
      const code = (CONNECTOR_ERROR_CODES as Record<string, string>)[match[1]!];
      found.push({ code: code ?? `CONNECTOR_ERROR_CODES.${match[1]}`, path });
    }
  }
  return found;
}

describe('the error catalog', () => {
  test('every code src/ throws or returns is in the catalog or the connector kit', () => {
    const all = uses();
    expect(all.length).toBeGreaterThan(100);
    const unknown = all.filter(({ code }) => !CATALOG_CODES.has(code) && !KIT_CODES.has(code) && !(code in FOREIGN_CODES));
    expect(unknown).toEqual([]);
  });

  test('thrown errors are built by fail(), so each takes its message from the catalog', () => {
    const direct = files.filter(({ path, text }) => path !== CATALOG_FILE && /\bnew RapportError\(/.test(text)).map(({ path }) => path);
    expect(direct).toEqual([]);
  });

  test('every catalog entry is used somewhere in src/', () => {
    const used = new Set(uses().map((u) => u.code));
    const unused = [...CATALOG_CODES].filter((code) => !used.has(code) && !(code in CLIENT_ONLY));
    expect(unused).toEqual([]);
    for (const code of Object.keys(CLIENT_ONLY)) expect(CATALOG_CODES.has(code)).toBe(true);
  });

  test('the kit and the catalog do not share a code, so a code names one failure', () => {
    expect([...KIT_CODES].filter((code) => CATALOG_CODES.has(code))).toEqual([]);
  });

  test('every entry has an HTTP status, a message template and a doc line', () => {
    for (const [code, spec] of Object.entries(ERROR_CATALOG)) {
      expect({ code, status: Number.isInteger(spec.status) && spec.status >= 400 && spec.status <= 599 }).toEqual({ code, status: true });
      expect({ code, message: spec.message.trim().length > 0 }).toEqual({ code, message: true });
      expect({ code, doc: /^[A-Z`].{10,}\.$/.test(spec.doc) }).toEqual({ code, doc: true });
      // Placeholders are plain names, so the helper's typing and its substitution agree.
      for (const [placeholder] of spec.message.matchAll(/\{[^}]*\}/g))
        expect({ code, placeholder: /^\{\w+\}$/.test(placeholder) }).toEqual({ code, placeholder: true });
    }
  });

  test('fail() builds the error from the template, the field and the details', () => {
    const error = fail('SEGMENT_IN_USE', { id: '7', users: '"a", "b"' }, 'id', { users: 2 });
    expect(error).toBeInstanceOf(RapportError);
    expect(error).toMatchObject({
      code: 'SEGMENT_IN_USE',
      field: 'id',
      details: { users: 2 },
      message: 'segment 7 is used by "a", "b"; change their rules first',
    });
    expect(errorMessage('BATCH_ABORTED', {})).toBe('not written: other rows of this ATOMIC batch are invalid');
  });

  test('HTTP routes answer each code with its catalog status', () => {
    // `sendJson(res, 404, { code: ErrorCode.NOT_FOUND … })`, `{ status: 401, code: … }` and `{ status: 401, body: { code: … } }`.
    const pattern = /(?:sendJson\(res, |\bstatus: )(\d{3}),[^;]*?\bcode: ErrorCode\.([A-Z][A-Z0-9_]*)/g;
    const answers = files.flatMap(({ path, text }) =>
      [...text.matchAll(pattern)].map((m) => ({ path, status: Number(m[1]), code: m[2] as keyof typeof ERROR_CATALOG })),
    );
    expect(answers.length).toBeGreaterThan(15);
    // A wrong method is 405 Method Not Allowed (with an Allow header) whatever the code says about a bad request.
    const wrong = answers.filter(({ status, code }) => status !== ERROR_CATALOG[code].status && !(status === 405 && code === 'BAD_REQUEST'));
    expect(wrong).toEqual([]);
  });

  test('docs/errors.md is generated from the catalog and current (npm run errors:doc)', () => {
    expect(readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8')).toBe(renderErrorCatalog());
    for (const code of CATALOG_CODES) expect(renderErrorCatalog()).toContain(`| \`${code}\` |`);
  });

  test('the README points at the catalog and its generated table', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('`docs/errors.md`');
    expect(readme).toContain('`src/errors/catalog.ts`');
  });
});
