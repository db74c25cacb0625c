/**
 * One Jest run exercises the whole system against real components: the global
 * setup starts one embedded Postgres cluster (each test file gets its own
 * database) and one redis-server (for the Redis queue-backend runs).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/src', '<rootDir>/packages', '<rootDir>/plugins'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  // The workspace's connector kit from its sources, as tsconfig.json's paths say (the package's exports point at its build).
  moduleNameMapper: {
    '^@rapport/connector-kit$': '<rootDir>/packages/connector-kit/src/index.ts',
    '^@rapport/connector-kit/testing$': '<rootDir>/packages/connector-kit/src/testing/index.ts',
  },
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
  // A test that leaves a handle open is a bug; fail loudly instead of hanging CI.
  forceExit: false,
};
