#!/usr/bin/env node
// From a source checkout, run the TypeScript sources (through tsx); in a built image
// (no src/, see docker/Dockerfile), run the compiled output in dist/.
const path = require('node:path');
const fs = require('node:fs');
const source = path.join(__dirname, '..', 'src', 'main.ts');
if (fs.existsSync(source)) {
  // tsconfig.json maps @rapport/connector-kit to the workspace kit's sources; tsx reads it from here whatever the working directory.
  process.env.TSX_TSCONFIG_PATH ??= path.join(__dirname, '..', 'tsconfig.json');
  require('tsx/cjs');
  require(source);
} else {
  require(path.join(__dirname, '..', 'dist', 'src', 'main.js'));
}
