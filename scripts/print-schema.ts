import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { printSchemaSDL } from '../src/graphql/print';

// Writes schema.graphql, the committed contract; `npm test` fails when it is out of date.
const file = path.join(__dirname, '..', 'schema.graphql');
writeFileSync(file, printSchemaSDL());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
