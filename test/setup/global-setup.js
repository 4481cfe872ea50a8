/**
 * Jest globalSetup: the PostgreSQL server for the store suites' second engine first (it and the
 * copy of it a root run makes live in the machine's temp dir, where the postgres user reaches
 * them), then the run's temporary root (TMPDIR for the workers).
 */
const postgres = require('../postgres/global-setup');
const tempRoot = require('./temp-root');

module.exports = async function globalSetup(globalConfig, projectConfig) {
  await postgres(globalConfig, projectConfig);
  await tempRoot.setup();
};
