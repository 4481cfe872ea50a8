/** Jest globalTeardown: stops the PostgreSQL server, then removes the run's temporary root. */
const postgres = require('../postgres/global-teardown');
const tempRoot = require('./temp-root');

module.exports = async function globalTeardown(globalConfig, projectConfig) {
  try {
    await postgres(globalConfig, projectConfig);
  } finally {
    await tempRoot.teardown();
  }
};
