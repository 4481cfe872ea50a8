/**
 * Admin routes under /__sim/ (same Basic credentials as the API, JSON answers), so scan cycles and
 * purges can be driven over HTTP from another process:
 *   POST /__sim/advance  hours, host_fraction, purge_fraction, kb_fraction -> ScanCycleReport
 *   POST /__sim/purge    ids=ID,ID,...                                     -> { purgedHostIds }
 *   GET  /__sim/stats                                                      -> SimulatorStats
 */
import type { ServerResponse } from 'node:http';
import { SimulatorCore, statsOf } from './core';
import { purgeHosts, runScanCycle } from './scan-cycle';

function number(form: URLSearchParams, name: string): number | undefined {
  const v = form.get(name);
  if (v === null) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n))
    throw new Error(`${name} must be a number, got "${v}"`);
  return n;
}

/** Answers an admin request; returns the HTTP status and body written. */
export function handleAdmin(
  core: SimulatorCore,
  action: string,
  method: string,
  form: URLSearchParams,
  res: ServerResponse,
): string {
  const reply = (status: number, value: unknown): string => {
    const body = JSON.stringify(value) + '\n';
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(body);
    return body;
  };
  const expected = action === 'stats' ? 'GET' : 'POST';
  if (!['advance', 'purge', 'stats'].includes(action))
    return reply(404, { error: `unknown admin route ${action}` });
  if (method !== expected) return reply(405, { error: `use ${expected} for /__sim/${action}` });
  try {
    if (action === 'stats') return reply(200, statsOf(core));
    if (action === 'purge') {
      const ids = (form.get('ids') ?? '').split(',').filter((s) => s.trim() !== '');
      if (ids.length === 0 || ids.some((id) => !/^\d+$/.test(id.trim()))) {
        throw new Error('ids must be a comma-separated list of host IDs');
      }
      return reply(200, { purgedHostIds: purgeHosts(core.dataset, ids.map(Number)) });
    }
    const report = runScanCycle(core.dataset, core.clock, {
      hours: number(form, 'hours'),
      hostFraction: number(form, 'host_fraction'),
      purgeFraction: number(form, 'purge_fraction'),
      kbFraction: number(form, 'kb_fraction'),
    });
    return reply(200, report);
  } catch (error) {
    return reply(400, { error: (error as Error).message });
  }
}
