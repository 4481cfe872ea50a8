/** Unit and end-to-end tests; e2e tests run the built CLIs in bin/ (npm test builds first). */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testTimeout: 60000,
  // One PostgreSQL server for the run: the store suites run on SQLite and on PostgreSQL.
  globalSetup: '<rootDir>/test/postgres/global-setup.js',
  globalTeardown: '<rootDir>/test/postgres/global-teardown.js',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
};
