/** The kit's preset: TypeScript through @swc/jest, Node environment, `*.test.ts`. @type {import('jest').Config} */
module.exports = { preset: '@rapport/connector-kit' };
