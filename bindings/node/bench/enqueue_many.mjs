// One command queued to many devices (default 100,000) through the binding
// (`devices.enqueueMany`) against the same service call in Rust, in the same run, on copies
// of one fixture store. Goal: at most 2× the Rust time.
//
//   bash scripts/node.sh && node bindings/node/bench/enqueue_many.mjs [N]
//
// scripts/node.sh builds a debug module, so the Rust side (`bindings-bench-reference`,
// bindings/bench, which also makes the fixture) is a debug build too.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mdmkit from '../index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const n = Number(process.argv[2] ?? 100_000);
const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
// `MDMKIT_BENCH_PROFILE=release` builds and runs the Rust side in release, for a module built
// with `npx napi build --platform --release`.
const PROFILE = process.env.MDMKIT_BENCH_PROFILE ?? 'debug';
execFileSync('cargo', ['build', '-q', '-p', 'mdmkit-bindings-bench', ...(PROFILE === 'release' ? ['--release'] : [])], { cwd: ROOT, stdio: 'inherit' });
const reference = join(target, PROFILE, 'bindings-bench-reference');
const key = randomBytes(32).toString('hex');
const work = mkdtempSync(join(tmpdir(), 'mdmkit-bench-'));
const copy = (from, to) => {
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(from + suffix)) copyFileSync(from + suffix, to + suffix);
};
try {
  const fixture = join(work, 'fixture.db');
  execFileSync(reference, ['fixture', fixture, key, String(n)], { stdio: 'inherit' });
  copy(fixture, join(work, 'rust.db'));
  const rust = execFileSync(reference, ['enqueue', join(work, 'rust.db'), key, String(n)], { encoding: 'utf8' }).trim();
  console.log(rust);
  const rustMs = Number(rust.match(/in ([0-9.]+) ms/)[1]);

  copy(fixture, join(work, 'node.db'));
  const mdm = await mdmkit.Mdm.open(join(work, 'node.db'), { key });
  const ids = Array.from({ length: n }, (_, i) => `00008030-${i.toString(16).toUpperCase().padStart(16, '0')}`);
  const started = process.hrtime.bigint();
  const bulk = await mdm.devices.enqueueMany(ids, { RequestType: 'DeviceInformation', Queries: ['OSVersion'] });
  const nodeMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (bulk.queued.length !== n) throw new Error(`queued to ${bulk.queued.length} of ${n}: ${JSON.stringify(bulk.refused[0])}`);
  console.log(`node: enqueue to ${n} devices in ${nodeMs.toFixed(1)} ms (${((nodeMs * 1000) / n).toFixed(2)} us per device)`);
  console.log(`node / rust: ${(nodeMs / rustMs).toFixed(2)}× (goal ≤ 2×; ${PROFILE} builds)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
