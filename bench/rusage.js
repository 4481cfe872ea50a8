/**
 * Preloaded into a benchmarked process (node -r bench/rusage.js …): on exit it writes its CPU
 * time and peak RSS to stderr as one JSON line, so the benchmark needs no external tool.
 */
const fs = require('node:fs');

const started = Date.now();
process.on('exit', () => {
  const usage = process.resourceUsage();
  fs.writeSync(
    2,
    `${JSON.stringify({
      rusage: {
        wallMs: Date.now() - started,
        userMs: usage.userCPUTime / 1000,
        systemMs: usage.systemCPUTime / 1000,
        maxRssMb: usage.maxRSS / 1024,
      },
    })}\n`,
  );
});
