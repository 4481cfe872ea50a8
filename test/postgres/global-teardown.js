/** Jest globalTeardown: stops the server globalSetup started (it removes its data dir). */
module.exports = async function globalTeardown() {
  const child = globalThis.etmTestPostgres;
  if (!child) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  delete process.env.ETM_TEST_POSTGRES_URL;
};
