// `mdm.handle` throughput through node:http on loopback against `mdmkit serve`, for signed
// Idle check-ins (`PUT /mdm/server`, Status Idle, empty queue: answer 200 with no body).
// Goal: Node at least 70 % of `mdmkit serve`'s rate.
//
//   bash scripts/node.sh && cargo build -p mdmkit-cli
//   (release: MDMKIT_BENCH_PROFILE=release, with both built in release; see PROFILE below)
//   node bindings/node/bench/handle_http.mjs [REQUESTS per side, default 4000] [CONNECTIONS, default 8]
//
// One SQLite store is prepared through the binding (device CA, push certificate, DEVICES
// devices enrolled with Authenticate and TokenUpdate signed by their identities, made with the
// openssl command), then copied: the node:http server (examples/node/backend.mjs's
// handler, in a child process) serves one copy, `target/debug/mdmkit serve` the other. Each
// device's Idle body and its `Mdm-Signature` are made once before the clock starts; this
// process is the load generator (keep-alive http.Agent, CONNECTIONS requests in flight) and
// sends the same bodies to both servers. The module scripts/node.sh builds and the CLI are
// both debug builds.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mdmkit from '../index.js';
import { Pki, newTopic, plist } from '../__test__/pki.mjs';
import { atRestKey } from '../__test__/helpers.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..');
const DEVICES = 8;
// `MDMKIT_BENCH_PROFILE=release` runs `target/release/mdmkit` (build the module with
// `npx napi build --platform --release` and the CLI with `cargo build --release -p mdmkit-cli`).
const PROFILE = process.env.MDMKIT_BENCH_PROFILE ?? 'debug';

// Child mode: the node:http server over `handle`, printing its port.
if (process.argv[2] === '--serve') {
  const { createBackend } = await import('../../../examples/node/backend.mjs');
  const mdm = await mdmkit.Mdm.open(process.argv[3], { key: process.argv[4] });
  const server = createBackend(mdm);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
  process.on('SIGTERM', () => process.exit(0));
} else {
  await main();
}

/** Spawns a server and resolves with its base URL, from its "listening on …" line. */
function start(command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/[0-9.]+:[0-9]+)/);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`${command} exited with ${code}: ${out}`)));
  });
}

function put(agent, url, body, signature) {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/mdm/server`, {
      method: 'PUT', agent,
      headers: { 'content-type': 'application/x-apple-aspen-mdm', 'mdm-signature': signature, 'content-length': body.length },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `total` requests with `connections` in flight; requests per second. */
async function load(url, signed, total, connections) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const { body, signature } = signed[next++ % signed.length];
      await put(agent, url, body, signature);
    }
  };
  const warm = Math.min(200, total);
  for (let i = 0; i < warm; i++) await put(agent, url, signed[i % signed.length].body, signed[i % signed.length].signature);
  next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return total / seconds;
}

async function main() {
  const total = Number(process.argv[2] ?? 4000);
  const connections = Number(process.argv[3] ?? 8);
  const cli = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), PROFILE, 'mdmkit');
  if (!existsSync(cli)) execFileSync('cargo', ['build', '-q', '-p', 'mdmkit-cli'], { cwd: ROOT, stdio: 'inherit' });
  const pki = new Pki();
  const work = mkdtempSync(join(tmpdir(), 'mdmkit-bench-handle-'));
  const children = [];
  try {
    const key = atRestKey();
    const fixture = join(work, 'fixture.db');
    const setup = await mdmkit.Mdm.open(fixture, { key });
    await setup.enrollment.init({
      baseUrl: 'https://mdm.example.com', enrollmentProfileId: 'com.example.mdm', organisation: 'Bench Org',
      deviceCaCertificate: pki.caPem, deviceCaKey: pki.caKey,
    });
    const mdm = await mdmkit.Mdm.open(fixture, { key });
    const topic = newTopic();
    const push = pki.issue(topic);
    await mdm.pushCerts.install({ certificate: Buffer.concat([push.cert, push.key]), appleId: 'bench@example.com' });

    // Each device: an identity, enrolled by signed check-ins, and its signed Idle body.
    const sign = (identity, body) => {
      const name = randomUUID();
      writeFileSync(join(work, `${name}.crt`), identity.cert);
      writeFileSync(join(work, `${name}.key`), identity.key);
      writeFileSync(join(work, `${name}.body`), body);
      return execFileSync('openssl', ['cms', '-sign', '-binary', '-outform', 'DER', '-in', join(work, `${name}.body`),
        '-signer', join(work, `${name}.crt`), '-inkey', join(work, `${name}.key`)]).toString('base64');
    };
    const signed = [];
    for (let i = 0; i < DEVICES; i++) {
      const identity = pki.issue(null);
      const udid = randomUUID().toUpperCase();
      for (const message of [
        { MessageType: 'Authenticate', UDID: udid, Topic: topic, SerialNumber: `BENCH${i}`, Model: 'iPhone' },
        { MessageType: 'TokenUpdate', UDID: udid, Topic: topic, Token: randomBytes(32), PushMagic: randomUUID() },
      ]) {
        const body = plist(message);
        const answer = await mdm.handle({ method: 'PUT', path: '/mdm/checkin', headers: { 'mdm-signature': sign(identity, body) }, body });
        if (answer.status !== 200) throw new Error(`enrollment: ${answer.status} ${answer.error ?? ''}`);
      }
      const body = plist({ UDID: udid, Status: 'Idle' });
      signed.push({ body, signature: sign(identity, body) });
    }
    // Checkpoint the fixture, then one copy per server.
    const stores = {};
    for (const side of ['node', 'rust']) {
      stores[side] = join(work, `${side}.db`);
      for (const suffix of ['', '-wal', '-shm']) if (existsSync(fixture + suffix)) copyFileSync(fixture + suffix, stores[side] + suffix);
    }
    const keyFile = join(work, 'store.key');
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });

    const results = {};
    for (const side of ['rust', 'node']) {
      const server = side === 'rust'
        ? await start(cli, ['serve', '--db', stores.rust, '--key-file', keyFile, '--listen', '127.0.0.1:0'])
        : await start(process.execPath, [fileURLToPath(import.meta.url), '--serve', stores.node, key]);
      children.push(server.child);
      results[side] = await load(server.url, signed, total, connections);
      server.child.kill('SIGTERM');
      console.log(`${side === 'rust' ? 'mdmkit serve' : 'node:http + handle'}: ${total} signed Idle check-ins, ${connections} connections: ${results[side].toFixed(0)} /s`);
    }
    console.log(`node / mdmkit serve: ${((results.node / results.rust) * 100).toFixed(0)} % (goal ≥ 70 %; ${PROFILE} builds)`);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
    rmSync(pki.dir, { recursive: true, force: true });
  }
}
