/**
 * The demo's two simulated Qualys subscriptions, started in this process on 127.0.0.1: 30% of the
 * second one's hosts are machines of the first (same agent ID, cloud instance or FQDN under other
 * host IDs) with the same vulnerabilities, and the identification rules recognise exactly those
 * (NetBIOS names and private addresses also coincide, as in real estates, but identify nothing
 * across subscriptions: docs/identification.md). Each subscription gets a random password and a
 * source config in a private directory.
 */
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';

import { ScanCycleOptions, Simulator, SimulatorOptions, startSimulator } from '../../simulator';

export interface DemoSubscription {
  /** The subscription label, which names its connector. */
  readonly label: string;
  readonly options: SimulatorOptions;
}

export interface RunningSubscription extends DemoSubscription {
  readonly simulator: Simulator;
  /** Its source config (0600), removed by close(). */
  readonly configFile: string;
}

export interface RunningSubscriptions {
  readonly list: ReadonlyArray<RunningSubscription>;
  close(): Promise<void>;
}

/** One simulated day, each subscription rescanning a tenth of its hosts. */
export const DEMO_SCAN_CYCLE: ScanCycleOptions = {
  hours: 24,
  hostFraction: 0.1,
  purgeFraction: 0.03,
};

/** Deterministic: tests rebuild the same data sets from these options. */
export function demoSubscriptions(hosts: number): DemoSubscription[] {
  // Both serve one knowledge base (the same qids), as Qualys' is global.
  const common = { hosts, detectionsPerHost: 20, qids: 1000 };
  return [
    { label: 'emea', options: { ...common, seed: 11, username: 'emea_api' } },
    {
      label: 'americas',
      options: {
        ...common,
        seed: 12,
        username: 'americas_api',
        overlapWith: { seed: 11, fraction: 0.3 },
      },
    },
  ];
}

export async function startDemoSubscriptions(hosts: number): Promise<RunningSubscriptions> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'etm-demo-'));
  fs.chmodSync(dir, 0o700);
  const list: RunningSubscription[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(list.map((s) => s.simulator.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const sub of demoSubscriptions(hosts)) {
      const password = crypto.randomBytes(12).toString('base64url');
      const simulator = await startSimulator({ ...sub.options, password });
      const configFile = path.join(dir, `${sub.label}.json`);
      const config = {
        base_url: simulator.baseUrl,
        username: simulator.username,
        password,
        subscription: sub.label,
      };
      fs.writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
      list.push({ ...sub, simulator, configFile });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { list, close };
}
