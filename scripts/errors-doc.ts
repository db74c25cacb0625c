/** Writes docs/errors.md from the error catalog (src/errors/catalog.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderErrorCatalog } from '../src/errors/catalog-doc';

writeFileSync(join(__dirname, '..', 'docs', 'errors.md'), renderErrorCatalog());
