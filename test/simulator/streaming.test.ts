/**
 * Streaming: large bodies are produced host by host under socket backpressure (a client that stops
 * reading stops production), body bytes are accounted in stats(), and KB responses carry the
 * keep-alive comment that parsers must skip (API doc §4).
 */
import http from 'node:http';
import { SMALL, basic, call, withSimulator } from './helpers';

test('production waits for a client that stops reading, and resumes when it reads again', async () => {
  await withSimulator({ hosts: 3000, detectionsPerHost: 25, qids: 400, seed: 2 }, async (sim) => {
    const url = `${sim.baseUrl}/api/4.0/fo/asset/host/vm/detection/?action=list&truncation_limit=0&show_qds=1&show_qds_factors=1`;
    let received = 0;
    let whilePaused = 0;
    let laterWhilePaused = 0;
    const served = (): number => sim.stats().bytesByEndpoint.hld;
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url, {
        headers: { authorization: basic(sim.username, sim.password), 'x-requested-with': 't' },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        res.once('data', (chunk: Buffer) => {
          received += chunk.length;
          res.pause();
          // Wait until production has stopped (two readings 200 ms apart agree), then resume.
          const settle = (): void => {
            whilePaused = served();
            setTimeout(() => {
              laterWhilePaused = served();
              if (laterWhilePaused !== whilePaused && Date.now() - pausedAt < 10_000)
                return settle();
              res.on('data', (c: Buffer) => (received += c.length));
              res.on('end', () => resolve());
              res.resume();
            }, 200);
          };
          const pausedAt = Date.now();
          settle();
        });
      });
    });
    // Kernel socket buffers plus the simulator's 1 MiB queue, far below the ~60 MB body.
    expect(whilePaused).toBeLessThan(16 * 1024 * 1024);
    expect(laterWhilePaused).toBe(whilePaused);
    expect(received).toBeGreaterThan(40 * 1024 * 1024);
    expect(served()).toBe(received);
  });
});

test('stats count body bytes per endpoint exactly', async () => {
  await withSimulator(SMALL, async (sim) => {
    const bodies = await Promise.all([
      call(sim, '/api/4.0/fo/asset/host/?action=list&details=All'),
      call(sim, '/api/4.0/fo/asset/host/?action=list&bogus=1'),
      call(sim, '/api/4.0/fo/asset/host/?action=list', { auth: false }),
    ]);
    const stats = sim.stats();
    expect(stats.bytesByEndpoint.host_list).toBe(
      bodies.reduce((n, r) => n + Buffer.byteLength(r.body), 0),
    );
    expect(stats.bytesServed).toBe(stats.bytesByEndpoint.host_list);
    expect(stats.calls.host_list).toBe(3);
    expect(stats.statusCodes).toEqual({ '200': 1, '400': 1, '401': 1 });
    expect(stats.memory.maxRssBytes).toBeGreaterThanOrEqual(stats.memory.rssBytes / 2);
  });
});

test('KB details=All carries a keep-alive comment inside RESPONSE before VULN_LIST; Basic does not', async () => {
  await withSimulator(SMALL, async (sim) => {
    const all = await call(sim, '/api/4.0/fo/knowledge_base/vuln/?action=list&details=All');
    expect(all.body).toMatch(
      /<RESPONSE>\n {4}<DATETIME>[^<]+<\/DATETIME>\n<!-- keep-alive for KNOWLEDGE_BASE_VULN_LIST_OUTPUT {2}-->\n {4}<VULN_LIST>/,
    );
    const basic = await call(sim, '/api/4.0/fo/knowledge_base/vuln/?action=list');
    expect(basic.body).not.toContain('keep-alive');
    expect(basic.body).toContain('<VULN_LIST>');
  });
});
