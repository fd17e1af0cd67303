// Digest one file with the example's streaming digest and report time and peak RSS as JSON.
import { digestFile } from '../../examples/digest/build/digest.js';

const [path, csv] = process.argv.slice(2);
const started = process.hrtime.bigint();
const result = await digestFile(path, { csv: csv === 'csv' });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(
  JSON.stringify({
    seconds,
    sha256: result.sha256,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  }),
);
