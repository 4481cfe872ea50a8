/**
 * `bin/qualys-sim`: starts the simulator on 127.0.0.1, prints exactly one JSON line
 * {"base_url","username","password"} to stdout once listening, and serves until SIGTERM/SIGINT.
 * Nothing else goes to stdout; errors go to stderr with exit code 1.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { parseFaultPlan } from './faults';
import { startSimulator } from './index';
import type { SimulatorOptions } from './options';

function int(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n))
    throw new InvalidArgumentError('expected an integer');
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError('expected a number in [0, 1]');
  return n;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('qualys-sim')
    .description('Qualys VMDR API simulator (Host List, Host List Detection, KnowledgeBase, about)')
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free port)', int, 0)
    .option('--hosts <n>', 'number of hosts', int, 1000)
    .option('--detections-per-host <n>', 'mean detections per host', int, 25)
    .option('--qids <n>', 'knowledge base size', int, 2000)
    .option('--seed <n>', 'data set seed', int, 1)
    .option('--username <u>', 'API user name', 'qualys_sim')
    .option('--password <p>', 'API password', 'qualys_sim_password')
    .option('--concurrency-limit <n>', 'concurrent calls per API', int, 2)
    .option('--rate-limit <n>', 'calls per API per window', int, 300)
    .option('--rate-window-sec <n>', 'rate window in seconds', int, 3600)
    .option('--latency-ms <n>', 'delay before each response head', int, 0)
    .option('--first-byte-ms <n>', 'delay between response head and first body byte', int, 0)
    .option('--bytes-per-sec <n>', 'body bandwidth cap (0 = none)', int, 0)
    .option(
      '--faults <file>',
      'JSON fault plan (format: src/simulator/faults.ts; e.g. unordered_hosts for hosts out of ID order)',
    )
    .option('--overlap-seed <n>', 'seed of a simulator whose hosts this one partly shares', int)
    .option('--overlap-fraction <f>', 'fraction of hosts shared with --overlap-seed', fraction, 0.3)
    .option('--account-expired', 'answer every API call with SIMPLE_RETURN 2001')
    .option('--escaped-warning-url', 'write the truncation WARNING URL as escaped text, not CDATA')
    .option('--start-time <iso>', 'initial simulated clock (YYYY-MM-DDTHH:MM:SSZ)')
    .option('--evaluation', "an evaluation subscription: Qualys' notice before and after the root")
    .option(
      '--keep-alive-every <n>',
      'a keep-alive comment after every n-th HOST, DETECTION or VULN (0 = none)',
      int,
      0,
    )
    .option('--crlf-text', 'CR LF line ends in the multi-line KB texts of one QID in three')
    .showHelpAfterError();
  program.parse(argv);
  const o = program.opts();
  try {
    const options: SimulatorOptions = {
      port: o.port,
      hosts: o.hosts,
      detectionsPerHost: o.detectionsPerHost,
      qids: o.qids,
      seed: o.seed,
      username: o.username,
      password: o.password,
      concurrencyLimit: o.concurrencyLimit,
      rateLimit: o.rateLimit,
      rateWindowSec: o.rateWindowSec,
      latencyMs: o.latencyMs,
      firstByteMs: o.firstByteMs,
      bytesPerSec: o.bytesPerSec,
      faults: o.faults ? parseFaultPlan(JSON.parse(readFileSync(o.faults, 'utf8'))) : undefined,
      accountExpired: Boolean(o.accountExpired),
      warningUrl: o.escapedWarningUrl ? 'escaped' : 'cdata',
      startTime: o.startTime,
      evaluation: Boolean(o.evaluation),
      keepAliveEvery: o.keepAliveEvery,
      crlfText: Boolean(o.crlfText),
      overlapWith:
        o.overlapSeed === undefined
          ? undefined
          : { seed: o.overlapSeed, fraction: o.overlapFraction },
    };
    const simulator = await startSimulator(options);
    process.stdout.write(
      JSON.stringify({
        base_url: simulator.baseUrl,
        username: simulator.username,
        password: simulator.password,
      }) + '\n',
    );
    const stop = (): void => {
      simulator.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  } catch (error) {
    process.stderr.write(`qualys-sim: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
