#!/usr/bin/env node
/**
 * A stand-in for `bin/main read` in etm's process tests: replays an Airbyte JSONL fixture.
 * Config knobs (besides base_url/username/password/subscription, which it ignores):
 *   fixture           JSONL file, relative to this directory
 *   pause_after_line  stop writing after this many lines and wait (a test kills etm meanwhile)
 *   fail_after_line   after this many lines, write a TRACE error and exit 1
 *   cut_after_line    after this many lines, write half of the next one and die by SIGINT (Ctrl-C)
 *   exit_code         exit with this code at the end
 *   probe_file        write what it was given (argv, file modes, state) to this file
 * With --state it resumes after the fixture's STATE message whose state equals the given one,
 * as a real source resumes from its checkpoint. The fixtures' states are the Faros CLI's gzipped
 * blobs from when etm read host_detections; etm now passes such a state back as plain JSON with
 * that part under `detections` (the stream it reads instead), which counts as equal.
 */
/* global setTimeout */
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
if (args[0] !== 'read') {
  process.stderr.write(`fake source: unsupported command ${args[0]}\n`);
  process.exit(2);
}
const configFile = opt('--config');
const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
const catalog = JSON.parse(fs.readFileSync(opt('--catalog'), 'utf8'));
const stateFile = opt('--state');
const state = stateFile ? JSON.parse(fs.readFileSync(stateFile, 'utf8')) : undefined;
if (config.probe_file) {
  const mode = (f) => (f ? (fs.statSync(f).mode & 0o777).toString(8) : null);
  fs.writeFileSync(
    config.probe_file,
    JSON.stringify({
      args,
      modes: { config: mode(configFile), catalog: mode(opt('--catalog')), state: mode(stateFile) },
      catalogStreams: catalog.streams.map((s) => [
        s.stream.name,
        s.sync_mode,
        s.destination_sync_mode,
      ]),
      state: state ?? null,
      config: { ...config, password: undefined },
    }),
  );
}
const lines = fs
  .readFileSync(path.resolve(__dirname, config.fixture), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');
/** A state as plain JSON, its host_detections part named detections. */
function plain(s) {
  const d = s && s.data;
  const streams =
    d && d.format === 'base64/gzip'
      ? JSON.parse(zlib.gunzipSync(Buffer.from(d.data, 'base64')).toString('utf8'))
      : s;
  if (!streams || Array.isArray(streams) || !('host_detections' in streams)) return streams;
  const { host_detections: detections, ...rest } = streams;
  return { ...rest, detections };
}
let start = 0;
if (state !== undefined) {
  const given = JSON.stringify(plain(state));
  const at = lines.findIndex((l) => {
    const m = JSON.parse(l);
    return m.type === 'STATE' && JSON.stringify(plain(m.state)) === given;
  });
  start = at + 1;
}

async function main() {
  for (let i = start; i < lines.length; i++) {
    await new Promise((resolve) =>
      process.stdout.write(`${lines[i]}\n`) ? resolve() : process.stdout.once('drain', resolve),
    );
    const written = i + 1;
    if (config.fail_after_line === written) {
      const trace = {
        type: 'TRACE',
        trace: {
          type: 'ERROR',
          emitted_at: Date.now(),
          error: {
            message: `Qualys said no (user ${config.username}, password ${config.password})`,
            failure_type: 'system_error',
          },
        },
      };
      process.stdout.write(`${JSON.stringify(trace)}\n`);
      process.stderr.write(`fatal: login failed for ${config.username}:${config.password}\n`);
      process.exit(1);
    }
    if (config.cut_after_line === written) {
      const next = lines[i + 1];
      process.stdout.write(next.slice(0, next.length >> 1), () =>
        process.kill(process.pid, 'SIGINT'),
      );
      await new Promise((resolve) => setTimeout(resolve, 60000));
    }
    if (config.pause_after_line === written)
      await new Promise((resolve) => setTimeout(resolve, 60000));
  }
  process.exitCode = config.exit_code ?? 0;
}
main();
