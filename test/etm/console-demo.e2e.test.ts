/**
 * `npm start` runs `etm demo`, which ends by serving the console on the demo store until Ctrl-C;
 * `etm demo --no-serve` ends after the walk-through (test/etm/demo.e2e.test.ts).
 */
import fs from 'fs';
import http from 'http';
import path from 'path';

import { finished, requireBuilt, startEtm } from './e2e';
import { tempDir } from './helpers';

const get = (url: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });

test('the demo ends by serving the console on its store; Ctrl-C stops it', async () => {
  requireBuilt();
  const dir = tempDir();
  try {
    const db = path.join(dir, 'demo.db');
    const child = startEtm(['demo', '--db', db, '--hosts', '10', '--port', '0']);
    const done = finished(child);
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        const m = new RegExp(
          `\\n\\nETM console on ${db.replace(/[.\\/]/g, '\\$&')}: (http://127\\.0\\.0\\.1:\\d+/) \\(Ctrl-C stops it\\)\\n$`,
        ).exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', () => reject(new Error(`the demo ended without serving:\n${out}`)));
    });
    expect(out).toMatch(/Done in [\d.]+ s\. The demo store stays in /);
    const overview = await get(`${url}api/overview`);
    expect(overview.status).toBe(200);
    const totals = /store now: +([\d,]+) assets[^\n]*\n(?![\s\S]*store now:)/.exec(out);
    expect(JSON.parse(overview.body).assets).toBe(Number(totals?.[1].replace(/,/g, '')));
    expect((await get(url)).body).toContain('<title>ETM console</title>');
    child.kill('SIGINT');
    const run = await done;
    expect(run.status).toBe(0);
    await expect(get(`${url}api/overview`)).rejects.toThrow(/ECONNREFUSED/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60000);
