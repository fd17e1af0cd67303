// One server per variant, run in its own process so the load generator does not share its core.
//   plain        hello world, no scratch space
//   scratch      nodeScratch around the same handler (transaction opened, never touches disk)
//   mkdtemp      the hand-rolled way: fs.mkdtemp per request, write 16 KiB, rm -rf on close
//   scratch-file nodeScratch + useScratch().write(16 KiB), removed on close
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useScratch } from 'drovejs/scratch';
import { nodeScratch } from 'drovejs/scratch/node';

const mode = process.argv[2];
const payload = Buffer.alloc(16 * 1024, 7);
const root = join(tmpdir(), 'drove-bench-scratch');

const handlers = {
  plain: (_req, res) => res.end('ok'),
  scratch: nodeScratch((_req, res) => res.end('ok'), { dir: root }),
  mkdtemp: async (_req, res) => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-'));
    res.once('close', () => void rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'f.bin'), payload);
    res.end('ok');
  },
  'scratch-file': nodeScratch(
    async (_req, res) => {
      await useScratch().write('f.bin', payload);
      res.end('ok');
    },
    { dir: root },
  ),
};

const server = createServer(handlers[mode]);
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
