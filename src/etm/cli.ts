/**
 * `bin/etm`: convert | sync | run | status | query | asset | serve | demo. Each command lives in commands/; this file
 * only declares options and maps a command's result to the exit code.
 */
import { Command } from 'commander';

import { asset } from './commands/asset';
import { convert } from './commands/convert';
import { demo } from './commands/demo';
import { remove, reset } from './commands/lifecycle';
import { merges } from './commands/merges';
import { query } from './commands/query';
import { run } from './commands/run';
import { serve } from './commands/serve';
import { status } from './commands/status';
import { sync } from './commands/sync';
import { Io, processIo } from './io';

const DB = 'etm.db';
const STORE_HELP =
  'ETM store: FILE or sqlite:FILE, or postgres://user:password@host:port/db?schema=etm';
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function program(io: Io = processIo()): Command {
  const cmd = new Command('etm')
    .description(
      'Qualys VMDR → ETM: convert Airbyte records, sync subscriptions into an ETM store, query it',
    )
    .showHelpAfterError()
    .exitOverride();
  const exit = (code: number): void => {
    process.exitCode = code;
  };
  cmd
    .command('convert')
    .description(
      'Airbyte messages (JSON lines) on stdin → final ETM records {model, record} as JSON lines on stdout',
    )
    .option(
      '--transform-map <file>',
      'transform map laid over the default (override, drop or add rows)',
    )
    .option(
      '--identification-rules <rules>',
      'identification rules to use, in precedence order, comma-separated',
    )
    .action(async (opts) => exit(await convert(opts, io)));
  cmd
    .command('sync')
    .description('run the source for each subscription config and store the converted records')
    .requiredOption(
      '--config <file>',
      'source config of one subscription (repeatable)',
      collect,
      [],
    )
    .option('--db <store>', STORE_HELP, DB)
    .option('--transform-map <file>', 'transform map laid over the default')
    .option(
      '--identification-rules <rules>',
      'identification rules to use, in precedence order, comma-separated',
    )
    .option(
      '--network <name>',
      'declare these subscriptions on a network they share with others declared on it: only then do private IP addresses match hosts across them',
    )
    .option('--source <file>', 'source entrypoint run with node', undefined)
    .action(async (opts) => exit(await sync(opts, io)));
  cmd
    .command('run')
    .description("sync a profile's subscriptions on its schedule until the schedule ends")
    .requiredOption('--profile <file>', 'profile (JSON)')
    .option('--db <store>', STORE_HELP, DB)
    .option('--source <file>', 'source entrypoint run with node', undefined)
    .action(async (opts) => exit(await run(opts, io)));
  cmd
    .command('status')
    .description('connectors, their states and last runs')
    .option('--db <store>', STORE_HELP, DB)
    .option('--format <format>', 'table or json', 'table')
    .action(async (opts) => exit(await status(opts, io)));
  cmd
    .command('reset')
    .description("forget a connector's source state, so that its next sync reads everything again")
    .argument('<connector>', 'the connector (subscription label)')
    .option(
      '--stream <stream>',
      'only this stream (hosts, host_detections, detections, knowledge_base)',
    )
    .option('--db <store>', STORE_HELP, DB)
    .action(async (name: string, opts) => exit(await reset(name, opts, io)));
  cmd
    .command('remove')
    .description('remove a connector and its data; assets other connectors share stay')
    .argument('<connector>', 'the connector (subscription label)')
    .option('--db <store>', STORE_HELP, DB)
    .option('--transform-map <file>', 'the transform map the store was built with')
    .action(async (name: string, opts) => exit(await remove(name, opts, io)));
  cmd
    .command('merges')
    .description('why hosts are one asset: each merge with the rule and value that made it')
    .option('--db <store>', STORE_HELP, DB)
    .option('--rule <rule>', 'only merges made by this identification rule')
    .option('--asset <key>', 'only merges into this asset')
    .option('--format <format>', 'table or json', 'table')
    .action(async (opts) => exit(await merges(opts, io)));
  cmd
    .command('query')
    .description(
      'assets or findings, e.g. "inventory: (source: VMDR)" or "finding.findingSeverity >= 4"',
    )
    .argument('<query...>', 'the query (quote it, or pass it as several words)')
    .option('--db <store>', STORE_HELP, DB)
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--sort <field[:desc]>', 'sort on any field, e.g. truRiskScore:desc')
    .option('--columns <a,b>', 'table and csv columns (findings may show assetName, ipAddress)')
    .option('--limit <n>', 'at most this many records')
    .action(async (words: string[], opts) => exit(await query(words.join(' '), opts, io)));
  cmd
    .command('asset')
    .description('one asset: its hosts, how they merged, its TruRisk explained, its findings')
    .argument('<asset>', "the asset's key, name, FQDN or IP address")
    .option('--db <store>', STORE_HELP, DB)
    .option('--findings <n>', 'findings to show, highest QDS first', '10')
    .action(async (term: string, opts) => exit(await asset(term, opts, io)));
  cmd
    .command('serve')
    .description('the ETM console: a read-only web UI over the store')
    .option('--db <store>', STORE_HELP, DB)
    .option('--port <n>', 'port (0: any free port)', '8080')
    .option(
      '--host <address>',
      'address to listen on; other than loopback needs --token',
      '127.0.0.1',
    )
    .option(
      '--token <token>',
      'required from browsers when listening beyond loopback (or ETM_CONSOLE_TOKEN)',
    )
    .action(async (opts) => exit(await serve(opts, io)));
  cmd
    .command('demo')
    .description(
      'two simulated subscriptions sharing part of their hosts: sync, scan cycle, incremental sync, queries',
    )
    .option('--db <file>', 'demo store, replaced if it is one; kept afterwards', 'etm-demo.db')
    .option('--hosts <n>', 'hosts per subscription', '300')
    .option('--no-serve', 'end after the walk-through instead of serving the console on the store')
    .option('--port <n>', "the console's port (any free one if taken)", '8080')
    .action(async (opts) => exit(await demo(opts, io)));
  return cmd;
}

export function main(argv: string[]): void {
  // A reader that stops early (`etm query … | head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  program()
    .parseAsync(argv)
    .catch((err: Error & { code?: string; exitCode?: number }) => {
      if (err.code?.startsWith('commander.')) {
        process.exitCode = err.exitCode ?? 1;
        return;
      }
      process.stderr.write(`etm: ${err.message ?? String(err)}\n`);
      process.exitCode = 1;
    });
}
