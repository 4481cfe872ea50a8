/**
 * What the benchmarks share: their numeric command-line options, and the simulator run as its
 * own process (bin/qualys-sim), so that client and server each have a core.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

/** The value after `--name` on the command line, or undefined. */
function stringArg(name) {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** `--name N` from the command line as a number, or `fallback`. */
function numberArg(name, fallback) {
  const value = stringArg(name);
  return value === undefined ? fallback : Number(value);
}

/**
 * Starts bin/qualys-sim with `args`; resolves once it listens, with the process and the JSON line
 * it prints ({base_url, username, password}). Stop it with child.kill('SIGTERM').
 */
function simulatorProcess(args) {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, '..', 'bin', 'qualys-sim'), ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    readline
      .createInterface({ input: child.stdout })
      .once('line', (line) => resolve({ child, ...JSON.parse(line) }));
  });
}

module.exports = { numberArg, simulatorProcess, stringArg };
