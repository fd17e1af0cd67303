// bench/digest: the example's digest throughput (MB/s) on a 200 MB file vs `sha256sum` on the
// same file, interleaved in one run, plus the digesting process's peak RSS for several sizes.
// Usage: npm --prefix bench run digest [-- --rounds 5]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const dir = mkdtempSync(join(tmpdir(), 'drove-bench-digest-'));
const MB = 1e6;

function makeFile(name, bytes) {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i += 64)
    createHash('sha512').update(`${name}${i}`).digest().copy(block, i);
  for (let written = 0; written < bytes; written += block.length) {
    writeSync(fd, block, 0, Math.min(block.length, bytes - written));
  }
  closeSync(fd);
  return path;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function digest(path, mode = 'plain') {
  const out = execFileSync(process.execPath, [
    new URL('./child.mjs', import.meta.url).pathname,
    path,
    mode,
  ]);
  return JSON.parse(out.toString());
}

function sha256sum(path) {
  const started = process.hrtime.bigint();
  const out = execFileSync('sha256sum', [path]).toString();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, sha256: out.split(' ')[0] };
}

try {
  const size = 200 * MB;
  const big = makeFile('big.bin', size);
  sha256sum(big); // warm the page cache for both
  const ours = [];
  const theirs = [];
  for (let r = 0; r < rounds; r++) {
    const a = digest(big);
    const b = sha256sum(big);
    if (a.sha256 !== b.sha256) throw new Error('SHA-256 mismatch');
    ours.push(size / MB / a.seconds);
    theirs.push(size / MB / b.seconds);
  }
  const rss = [];
  for (const mb of [20, 200, 800]) {
    const path = mb === 200 ? big : makeFile(`f${mb}.bin`, mb * MB);
    rss.push({ mb, maxRssMiB: digest(path).maxRssMiB });
    if (mb !== 200) rmSync(path);
  }
  const oursMed = median(ours);
  const theirsMed = median(theirs);
  console.log(`digest (size, SHA-256, lines) of 200 MB, ${rounds} interleaved rounds, medians:`);
  console.log(`  drove example digestFile: ${oursMed.toFixed(0)} MB/s`);
  console.log(`  sha256sum:                ${theirsMed.toFixed(0)} MB/s`);
  console.log(`  ratio:                    ${(oursMed / theirsMed).toFixed(2)}x (target >= 0.8x)`);
  console.log('peak RSS of the digesting process:');
  for (const r of rss)
    console.log(`  ${String(r.mb).padStart(4)} MB file: ${r.maxRssMiB.toFixed(1)} MiB`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
