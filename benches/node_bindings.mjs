// Per-call overhead of the Node bindings against the same Rust call: decodes 10,000
// TokenUpdate check-ins with `decodeCheckin` (showSecrets: true, no redaction) and compares
// with the same `Checkin::decode` in Rust (`bindings-bench-reference decode`, bindings/bench:
// the loop of benches/checkin_decode.rs, in a binary that builds with the bindings'
// dependencies only) on the same bodies, written to a file. Both sides take the best of 5
// rounds. Goal: at most 2× the Rust time.
//
//   bash scripts/node.sh && node benches/node_bindings.mjs --debug   # both sides debug builds
//   (cd bindings/node && npx napi build --platform --release) && node benches/node_bindings.mjs
//
// Compare like with like: `--debug` builds and runs the Rust side as a debug binary (the
// module scripts/node.sh builds is a debug build); without it a release one, for a module
// built with --release. Both use CARGO_TARGET_DIR when set.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeCheckin } from '../bindings/node/index.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const COUNT = 10_000;
const TOKEN = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

function body(index) {
  const udid = `UDID-${String(index).padStart(5, '0')}`;
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>MessageType</key><string>TokenUpdate</string><key>UDID</key><string>${udid}</string><key>Topic</key><string>com.apple.mgmt.External.bench</string><key>Token</key><data>${TOKEN}</data><key>PushMagic</key><string>magic-${index}</string><key>UnlockToken</key><data>${TOKEN}</data></dict></plist>`);
}

const bodies = Array.from({ length: COUNT }, (_, i) => body(i));
for (const b of bodies.slice(0, 1000)) decodeCheckin(b, true);
let nodeMs = Infinity;
for (let round = 0; round < 5; round += 1) {
  const start = process.hrtime.bigint();
  for (const b of bodies) decodeCheckin(b, true);
  nodeMs = Math.min(nodeMs, Number(process.hrtime.bigint() - start) / 1e6);
}
console.log(`node decodeCheckin: ${COUNT} check-ins in ${nodeMs.toFixed(1)} ms (${((nodeMs * 1000) / COUNT).toFixed(2)} µs each)`);

if (!process.argv.includes('--node-only')) {
  const release = !process.argv.includes('--debug');
  execFileSync('cargo', ['build', '-q', '-p', 'mdmkit-bindings-bench', ...(release ? ['--release'] : [])], { cwd: ROOT, stdio: 'inherit' });
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target');
  const reference = join(target, release ? 'release' : 'debug', 'bindings-bench-reference');
  const dir = mkdtempSync(join(tmpdir(), 'mdmkit-bench-'));
  const file = join(dir, 'bodies');
  writeFileSync(file, Buffer.concat(bodies.flatMap((b) => {
    const length = Buffer.alloc(4);
    length.writeUInt32LE(b.length);
    return [length, b];
  })));
  let out;
  try {
    out = execFileSync(reference, ['decode', file], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(out.trim());
  const rustMs = Number(out.match(/in ([0-9.]+) ms/)[1]);
  console.log(`ratio node/rust (${release ? 'release' : 'debug'}): ${(nodeMs / rustMs).toFixed(2)}× (goal ≤ 2×)`);
}
