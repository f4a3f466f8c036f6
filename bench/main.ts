/** `npm run bench -- <suite> [--json]`: benchmarks that measure this machine, peers side by side in one run. */
import { benchAwq, formatAwqReport } from './awq.js';
import { benchEie, formatEieReport } from './eie.js';
import { benchKernels, formatKernelReport } from './kernels.js';
import { benchLlm, formatLlmReport } from './llm.js';
import { benchServer, formatServerReport } from './server.js';
import { benchSmoothQuant, formatSmoothQuantReport } from './smoothquant.js';
import { benchStreaming, formatStreamingReport } from './streaming.js';

const SUITES: Record<
  string,
  { run: (log: (l: string) => void) => Promise<unknown>; format: (r: never) => string }
> = {
  kernels: { run: benchKernels, format: formatKernelReport },
  llm: { run: benchLlm, format: formatLlmReport },
  streaming: { run: benchStreaming, format: formatStreamingReport },
  awq: { run: benchAwq, format: formatAwqReport },
  eie: { run: benchEie, format: formatEieReport },
  smoothquant: { run: benchSmoothQuant, format: formatSmoothQuantReport },
  server: { run: benchServer, format: formatServerReport },
};

const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const chosen = names.length > 0 ? names : Object.keys(SUITES);
for (const name of chosen) {
  const suite = SUITES[name];
  if (!suite) {
    console.error(`unknown benchmark ${name}; available: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  // progress lines go to stderr on a terminal only, so piped output stays clean
  const log = (line: string) => process.stderr.isTTY && process.stderr.write(`  ${line}\n`);
  const report = await suite.run(log);
  console.log(
    json ? JSON.stringify({ [name]: report }, null, 2) : `== ${name}\n${suite.format(report as never)}`,
  );
}
