/**
 * Parse benchmark (not a test): one Host List Detection page of 500 hosts from the simulator, read
 * in 64 KB chunks in this process by the general reader (ResponseReader: records as objects, then
 * JSON through SharedJsonEncoder) and by the detections fast path (DetectionReader: detections
 * straight to JSON bytes), reporting µs per detection for each step.
 * Run: npm run build && node bench/parse.js
 */
const { validateConfig } = require('../lib/config');
const { detectionParams } = require('../lib/qualys/params');
const { DetectionReader } = require('../lib/qualys/xml/detection-reader');
const { ResponseReader } = require('../lib/qualys/xml/response-reader');
const { compileRecordShape } = require('../lib/qualys/xml/shape');
const { SharedJsonEncoder } = require('../lib/shared-json');
const { simulatorProcess } = require('./common');

const HOST = compileRecordShape(require('../resources/schemas/host_detections.json'));
const ROUNDS = 10;

/** The page, from a simulator process (not this one: its data set would weigh on our heap). */
async function page() {
  const sim = await simulatorProcess(['--hosts', '500', '--detections-per-host', '50']);
  try {
    const { base_url, username, password } = sim;
    const config = validateConfig({ base_url, username, password });
    const auth = Buffer.from(`${sim.username}:${sim.password}`).toString('base64');
    const response = await fetch(`${sim.base_url}/api/4.0/fo/asset/host/vm/detection/`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${auth}`,
        'x-requested-with': 'bench',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        ...detectionParams(config),
        action: 'list',
        truncation_limit: '0',
      }).toString(),
    });
    return Buffer.from(await response.arrayBuffer());
  } finally {
    sim.child.kill('SIGTERM');
  }
}

function readAll(reader, chunks, keep) {
  const records = [];
  for (const chunk of chunks) {
    for (const event of reader.write(chunk))
      if (keep && event.kind === 'record') records.push(event.record);
  }
  reader.end();
  return records;
}

/** µs per detection of `fn`, best of three batches after a warm-up. */
function time(fn, detections) {
  for (let i = 0; i < 3; i++) fn();
  let best = Infinity;
  for (let batch = 0; batch < 3; batch++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ROUNDS; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1000 / ROUNDS / detections);
  }
  return best;
}

(async () => {
  const doc = await page();
  const chunks = [];
  for (let i = 0; i < doc.length; i += 65536) chunks.push(doc.subarray(i, i + 65536));
  const detections = readAll(new ResponseReader({ HOST }), chunks, true).reduce(
    (sum, host) => sum + host.VULNERABILITIES.length,
    0,
  );
  const output = Buffer.allocUnsafe(1 << 26);
  let used = 0;
  const sink = {
    text: (text) => (used += output.write(text, used)),
    bytes: (bytes, from = 0, to = bytes.length) => (used += bytes.copy(output, used, from, to)),
  };
  const encodeAll = (records) => {
    const encoder = new SharedJsonEncoder();
    used = 0;
    for (const record of records) encoder.encodeObject(record, sink);
  };
  console.log(
    `One page: 500 hosts, ${detections} detections, ${(doc.length / 1e6).toFixed(1)} MB of XML (${Math.round(doc.length / detections)} bytes per detection)`,
  );
  console.log('| reader | parse µs/detection | encode µs/detection | total |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const [name, make] of [
    ['general (ResponseReader, objects)', () => new ResponseReader({ HOST })],
    ['fast path (DetectionReader, bytes)', () => new DetectionReader(HOST)],
  ]) {
    const parse = time(() => readAll(make(), chunks, false), detections);
    const records = readAll(make(), chunks, true);
    const encode = time(() => encodeAll(records), detections);
    console.log(
      `| ${name} | ${parse.toFixed(2)} | ${encode.toFixed(2)} | ${(parse + encode).toFixed(2)} |`,
    );
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
