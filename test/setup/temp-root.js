/**
 * One temporary root per `npm test` run: every test (and every process a test starts, through
 * TMPDIR) makes its temporary folders under it, and the teardown removes it, so a run leaves
 * nothing in the machine's /tmp even when a test fails before its own cleanup.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT_ENV = 'QUALYS_TEST_TEMP_ROOT';

async function setup() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qualys-vmdr-tests-'));
  process.env[ROOT_ENV] = root;
  // Jest starts its workers after the global setup, with this environment.
  process.env.TMPDIR = root;
}

async function teardown() {
  const root = process.env[ROOT_ENV];
  if (root) fs.rmSync(root, { recursive: true, force: true });
}

module.exports = { setup, teardown };
