/**
 * `npm run bench`: every benchmark in turn (simulator, parse, read, ETM), each printing its own table.
 * They are not tests: they take minutes and their figures depend on the machine.
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');

for (const bench of ['simulator.js', 'parse.js', 'read.js', 'etm.js', 'sync.js']) {
  console.log(`\n=== bench/${bench}`);
  const run = spawnSync(process.execPath, [path.join(__dirname, bench)], { stdio: 'inherit' });
  if (run.status !== 0) {
    process.exitCode = 1;
    break;
  }
}
