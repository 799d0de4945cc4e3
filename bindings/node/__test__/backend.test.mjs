// examples/node/backend.mjs end to end: a simulated device enrolls through the backend
// (enrollment link → signed profile → its identity as TLS client certificate → check-ins
// through `handle`), then the backend's own route locks it and the device receives it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID, randomBytes } from 'node:crypto';
import mdmkit from '../index.js';
import { createBackend } from '../../../examples/node/backend.mjs';
import { atRestKey } from './helpers.mjs';
import { Pki, newTopic, plist } from './pki.mjs';

const pki = new Pki();
const servers = [];
after(() => servers.forEach((s) => s.close()));

function call(port, method, path, { body, cert, key, headers } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, method, path, cert, key, headers,
      ca: pki.caPem, checkServerIdentity: () => undefined,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The device identity (PKCS#12 payload) of a signed enrollment profile, as PEM. */
function identityOf(profile) {
  const xml = mdmkit.verifyProfile(profile, pki.caPem).profile.xml.toString('utf8');
  const at = xml.indexOf('com.apple.security.pkcs12');
  assert.ok(at > 0, 'the profile carries a PKCS#12 identity');
  const payload = xml.slice(xml.lastIndexOf('<dict>', at), xml.indexOf('</dict>', at));
  const data = payload.match(/<key>PayloadContent<\/key>\s*<data>([^<]*)<\/data>/)[1];
  const password = payload.match(/<key>Password<\/key>\s*<string>([^<]*)<\/string>/)[1];
  const dir = mkdtempSync(join(tmpdir(), 'mdmkit-device-'));
  writeFileSync(join(dir, 'identity.p12'), Buffer.from(data.replace(/\s/g, ''), 'base64'));
  const pem = (...args) => execFileSync('openssl', ['pkcs12', '-in', join(dir, 'identity.p12'), '-passin', `pass:${password}`, '-nodes', ...args]);
  return { cert: pem('-clcerts', '-nokeys'), key: pem('-nocerts') };
}

test('a device enrolls through the backend and the backend locks it for its user', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'mdmkit-backend-')), 'mdmkit.db');
  const storeKey = atRestKey();
  const setup = await mdmkit.Mdm.open(path, { key: storeKey });
  await setup.enrollment.init({
    baseUrl: 'https://mdm.example.com', enrollmentProfileId: 'com.example.mdm', organisation: 'Example Org',
    deviceCaCertificate: pki.caPem, deviceCaKey: pki.caKey,
  });
  const mdm = await mdmkit.Mdm.open(path, { key: storeKey });
  const topic = newTopic();
  const push = pki.issue(topic);
  await mdm.pushCerts.install({ certificate: Buffer.concat([push.cert, push.key]), appleId: 'it@example.com' });
  await mdm.enrollment.invite('alice', 'alice@example.com', 86400);
  await mdm.enrollment.invite('bob', 'bob@example.com', 86400);
  const link = await mdm.enrollment.createLink('alice', 3600);

  const tls = pki.issue(null);
  const server = createBackend(mdm, { tls: { cert: tls.cert, key: tls.key }, apiKey: 'secret-api-key' });
  servers.push(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();

  // The device opens the enrollment link once.
  const token = new URL(link.url).searchParams.get('token');
  const enroll = await call(port, 'GET', `/enroll?token=${encodeURIComponent(token)}`);
  assert.equal(enroll.status, 200);
  assert.equal(enroll.headers['content-type'], 'application/x-apple-aspen-config');
  assert.equal((await call(port, 'GET', `/enroll?token=${encodeURIComponent(token)}`)).status, 410);

  // It checks in with the identity from the profile as its TLS client certificate.
  const device = identityOf(enroll.body);
  const udid = randomUUID().toUpperCase();
  for (const message of [
    { MessageType: 'Authenticate', UDID: udid, Topic: topic, SerialNumber: 'NODE0001', Model: 'iPhone' },
    { MessageType: 'TokenUpdate', UDID: udid, Topic: topic, Token: randomBytes(32), PushMagic: randomUUID(), UnlockToken: randomBytes(32) },
  ]) {
    const answer = await call(port, 'PUT', '/mdm/checkin', { body: plist(message), ...device });
    assert.equal(answer.status, 200, answer.body.toString());
  }
  // Without its identity the device is refused.
  const anonymous = await call(port, 'PUT', '/mdm/checkin', { body: plist({ MessageType: 'Authenticate', UDID: udid, Topic: topic }) });
  assert.ok(anonymous.status >= 400);
  assert.equal((await mdm.devices.get(udid)).owner, 'alice');

  // The backend's own route: only for the device's user, only with the API key.
  const auth = { authorization: 'Bearer secret-api-key', 'content-type': 'application/json' };
  const body = JSON.stringify({ message: 'Call IT' });
  assert.equal((await call(port, 'POST', `/users/alice/devices/${udid}/lock`, { body })).status, 401);
  assert.equal((await call(port, 'POST', `/users/bob/devices/${udid}/lock`, { body, headers: auth })).status, 404);
  assert.equal((await call(port, 'POST', '/users/alice/devices/NO-SUCH/lock', { body, headers: auth })).status, 404);
  const locked = await call(port, 'POST', `/users/alice/devices/${udid}/lock`, { body, headers: auth });
  assert.equal(locked.status, 202, locked.body.toString());
  const outcome = JSON.parse(locked.body);
  assert.equal(typeof outcome.commandUuid, 'string');

  // The device polls, receives the lock, acknowledges it.
  const idle = await call(port, 'PUT', '/mdm/server', { body: plist({ UDID: udid, Status: 'Idle' }), ...device });
  assert.equal(idle.status, 200);
  const command = mdmkit.decodeCommand(idle.body);
  assert.deepStrictEqual([command.commandUuid, command.requestType, command.command.Message], [outcome.commandUuid, 'DeviceLock', 'Call IT']);
  const ack = await call(port, 'PUT', '/mdm/server', { body: plist({ UDID: udid, Status: 'Acknowledged', CommandUUID: outcome.commandUuid }), ...device });
  assert.equal(ack.status, 200);
  assert.equal((await mdm.devices.commandStatus(outcome.commandUuid))[0].status, 'Acknowledged');
});
