// The deployment API against the built module: devices and actions, queues and results
// through the sans-IO endpoint, events, push certificates, enrollment, settings, and the
// bad inputs a backend meets (each a rejected Promise with its code, nothing stored).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import mdmkit from '../index.js';
import * as esm from '../index.mjs';
import { REPO, atRestKey } from './helpers.mjs';
import { Pki, newTopic, plist } from './pki.mjs';

const { Mdm } = mdmkit;
let pki;

before(() => {
  pki = new Pki();
});

/** Rejects with `code` (and the code is one of the Rust codes). */
async function rejects(promise, code) {
  assert.ok(promise instanceof Promise, 'an I/O call returns a Promise');
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof Error);
    assert.equal(error.code, code, error.message);
    assert.ok(mdmkit.errorCodes().includes(error.code));
    return true;
  });
}

/** A fresh SQLite deployment with the test CA as device CA, reopened after init. */
async function deployment() {
  const path = join(mkdtempSync(join(tmpdir(), 'mdmkit-node-')), 'mdmkit.db');
  const key = atRestKey();
  const first = await Mdm.open(path, { key });
  await first.enrollment.init({
    baseUrl: 'https://mdm.example.com',
    enrollmentProfileId: 'com.example.mdm',
    organisation: 'Example Org',
    deviceCaCertificate: pki.caPem,
    deviceCaKey: pki.caKey,
  });
  return { mdm: await Mdm.open(path, { key }), path, key };
}

/** Enrolls a device through `handle` with a device-CA identity as TLS client certificate. */
async function enroll(mdm, { unlockToken = true } = {}) {
  const udid = randomUUID().toUpperCase();
  const identity = pki.issue(null);
  const topic = newTopic();
  const messages = [
    { MessageType: 'Authenticate', UDID: udid, Topic: topic, Model: 'iPhone', ProductName: 'iPhone15,2', OSVersion: '17.4', SerialNumber: 'F00TEST' },
    { MessageType: 'TokenUpdate', UDID: udid, Topic: topic, Token: randomBytes(32), PushMagic: randomUUID(), ...(unlockToken ? { UnlockToken: randomBytes(64) } : {}) },
  ];
  for (const message of messages) {
    const answer = await mdm.handle({ method: 'PUT', path: '/mdm/checkin', body: plist(message), peerCertificate: identity.der });
    assert.equal(answer.status, 200, answer.error ?? '');
  }
  return { udid, identity };
}

test('loadable with require and import: the same functions', () => {
  assert.equal(esm.Mdm, Mdm);
  assert.equal(esm.default.renderCommand, mdmkit.renderCommand);
  assert.equal(typeof esm.decodeCheckin, 'function');
});

test('errorCodes() is every code the Rust crates spell out, unchanged', () => {
  const spelled = new Set();
  for (const file of ['core/src/error.rs', 'apns/src/error.rs', 'certstore/src/error.rs', 'enrollment/src/error.rs', 'service/src/error.rs']) {
    const source = readFileSync(join(REPO, file), 'utf8');
    const list = source.match(/pub const CODES: &'static \[&'static str\] =\s*&\[([^\]]*)\]/);
    assert.ok(list, `${file} has a CODES list`);
    for (const m of list[1].matchAll(/"([a-z0-9_]+)"/g)) spelled.add(m[1]);
    const body = source.slice(source.indexOf('pub fn code(&self)'));
    for (const m of body.slice(0, body.indexOf('\n    }\n')).matchAll(/=> "([a-z0-9_]+)"/g)) spelled.add(m[1]);
  }
  const codes = mdmkit.errorCodes();
  assert.deepStrictEqual(codes, [...codes].sort());
  assert.deepStrictEqual(new Set(codes), spelled);
});

test('a thrown error carries the Rust code and message', () => {
  assert.throws(() => mdmkit.decodeCheckin(Buffer.from('not a plist')), (error) => {
    assert.equal(error.code, 'plist_malformed');
    assert.match(error.message, /property list/);
    return true;
  });
});

test('open: memory store; a deployment without device CA refuses device actions', async () => {
  const mdm = await Mdm.open('memory:');
  assert.deepStrictEqual(await mdm.devices.list(), { devices: [] });
  await rejects(mdm.devices.lock('UDID'), 'setting_missing');
  await rejects(mdm.handle({ method: 'PUT', path: '/mdm/checkin', body: Buffer.from('x') }), 'setting_missing');
});

test('open: an SQL store without key, or with a malformed key, is refused', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'mdmkit-node-')), 'x.db');
  await rejects(Mdm.open(path), 'invalid_input');
  await assert.rejects(Mdm.open(path, { key: 'zz' }), (error) => mdmkit.errorCodes().includes(error.code));
});

test('devices: enrolled through handle, listed, paged, got; Dates for times', async () => {
  const { mdm } = await deployment();
  const a = await enroll(mdm);
  const b = await enroll(mdm);
  const page = await mdm.devices.list({ limit: 1 });
  assert.equal(page.devices.length, 1);
  assert.ok(page.next);
  const rest = await mdm.devices.list({ after: page.next, limit: 10 });
  assert.equal(rest.devices.length, 1);
  assert.equal(rest.next, undefined);
  const ids = [page.devices[0].enrollmentId, rest.devices[0].enrollmentId].sort();
  assert.deepStrictEqual(ids, [a.udid, b.udid].sort());
  const device = await mdm.devices.get(a.udid);
  assert.equal(device.serialNumber, 'F00TEST');
  assert.equal(device.enabled, true);
  assert.equal(device.pushable, true);
  assert.ok(device.createdAt instanceof Date);
  assert.ok(device.lastSeen instanceof Date);
});

test('actions queue commands; the device answers through handle; status and events', async () => {
  const { mdm } = await deployment();
  const { udid, identity } = await enroll(mdm);
  const events = mdm.events();
  const lock = await mdm.devices.lock(udid, { message: 'Call IT', phoneNumber: '555-0100' });
  assert.equal(typeof lock.commandUuid, 'string');
  assert.equal(lock.pushed, false); // no push certificate installed
  const outcomes = [
    await mdm.devices.unlock(udid),
    await mdm.devices.deviceInformation(udid, ['SerialNumber']),
    await mdm.devices.removeProfile(udid, 'com.example.wifi'),
    await mdm.devices.enqueue(udid, { RequestType: 'InstallProfile', Payload: mdmkit.profileFromSpec({ PayloadIdentifier: 'com.example.wifi', PayloadContent: [{ PayloadType: 'com.apple.wifi.managed', SSID_STR: 'Office' }] }).xml }),
    await mdm.devices.wipe(udid, null),
    await mdm.devices.retire(udid),
  ];
  for (const o of outcomes) assert.equal(typeof o.commandUuid, 'string');
  const checkIn = await mdm.devices.checkInNow(udid);
  assert.equal(checkIn.commandUuid, undefined);
  const queue = await mdm.devices.queue(udid);
  assert.deepStrictEqual(queue.map((c) => c.requestType), ['DeviceLock', 'ClearPasscode', 'DeviceInformation', 'RemoveProfile', 'InstallProfile', 'EraseDevice', 'RemoveProfile']);
  assert.ok(queue[0].createdAt instanceof Date);
  assert.deepStrictEqual((await mdm.devices.commandStatus(lock.commandUuid)).map((s) => s.status), [undefined]);

  // The device idles, receives the lock, acknowledges it.
  const idle = await mdm.handle({ method: 'PUT', path: '/mdm/server', body: plist({ UDID: udid, Status: 'Idle' }), peerCertificate: identity.der });
  assert.equal(idle.status, 200);
  const command = mdmkit.decodeCommand(idle.body);
  assert.equal(command.commandUuid, lock.commandUuid);
  assert.equal(command.command.Message, 'Call IT');
  const ack = await mdm.handle({ method: 'PUT', path: '/mdm/server', body: plist({ UDID: udid, Status: 'Acknowledged', CommandUUID: lock.commandUuid }), peerCertificate: identity.der });
  assert.equal(ack.status, 200);
  const [status] = await mdm.devices.commandStatus(lock.commandUuid);
  assert.equal(status.status, 'Acknowledged');
  assert.equal(status.result.CommandUUID, lock.commandUuid);

  const seen = [];
  for await (const event of events) {
    seen.push(event);
    if (event.status === 'Acknowledged') break;
  }
  assert.deepStrictEqual(seen.map((e) => e.kind), ['command_result', 'command_result']);
  assert.equal(seen[1].commandUuid, lock.commandUuid);
  assert.ok(seen[1].at instanceof Date);
  assert.ok(Buffer.isBuffer(seen[1].body));
});

test('events: a callback registered from JS receives check-ins until closed', async () => {
  const { mdm } = await deployment();
  const seen = [];
  const subscription = mdm.onEvent((event) => seen.push(event));
  const { udid } = await enroll(mdm);
  for (let i = 0; i < 100 && seen.length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepStrictEqual(seen.map((e) => [e.kind, e.messageType, e.enrollmentId]), [['checkin', 'Authenticate', udid], ['checkin', 'TokenUpdate', udid]]);
  assert.ok(seen[0].at instanceof Date);
  subscription.close();
  subscription.close();
  await enroll(mdm);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(seen.length, 2);
});

test('bulk: one command to many devices, refusals listed, progress reported', async () => {
  const { mdm } = await deployment();
  const a = await enroll(mdm);
  const b = await enroll(mdm);
  const progress = [];
  const bulk = await mdm.devices.enqueueMany([a.udid, 'NO-SUCH-DEVICE', b.udid], { RequestType: 'DeviceLock', Message: 'Bulk' }, (p) => progress.push(p));
  assert.deepStrictEqual(bulk.queued, [a.udid, b.udid]);
  assert.deepStrictEqual(bulk.refused.map((r) => [r.enrollmentId, r.code]), [['NO-SUCH-DEVICE', 'not_found']]);
  assert.deepStrictEqual(bulk.pushes.map((p) => p.enrollmentId).sort(), [a.udid, b.udid].sort());
  for (const { udid } of [a, b]) {
    assert.deepStrictEqual((await mdm.devices.queue(udid)).map((c) => c.commandUuid), [bulk.commandUuid]);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(progress.length >= 1);
  assert.deepStrictEqual(progress.map((p) => p.total), progress.map(() => 2));
  assert.equal(progress.at(-1).done, 2);
  await rejects(mdm.devices.enqueueMany([a.udid], { RequestType: 'DeviceLock', Bogus: 1 }), 'unknown_key');
});

test('bad inputs: each a rejected Promise with its code, nothing stored', async () => {
  const { mdm } = await deployment();
  const { udid } = await enroll(mdm, { unlockToken: false });
  await rejects(mdm.devices.get('NO-SUCH-DEVICE'), 'not_found');
  await rejects(mdm.devices.lock('NO-SUCH-DEVICE'), 'not_found');
  await rejects(mdm.devices.commandStatus('NO-SUCH-COMMAND'), 'not_found');
  // An action the device cannot do: no UnlockToken was sent.
  await rejects(mdm.devices.unlock(udid), 'unlock_token_missing');
  // Lost Mode needs a supervised device.
  await rejects(mdm.devices.enableLostMode(udid, { message: 'Lost' }), 'command_not_supported');
  await rejects(mdm.devices.locate(udid), 'command_not_supported');
  await rejects(mdm.devices.disableLostMode(udid), 'command_not_supported');
  // Wrong API usage: a number where a string is expected.
  await rejects(mdm.devices.lock(42), 'invalid_input');
  await rejects(mdm.devices.get({ udid }), 'invalid_input');
  // A command that Apple's schema refuses.
  await rejects(mdm.devices.enqueue(udid, { RequestType: 'DeviceLock', Bogus: 1 }), 'unknown_key');
  await rejects(mdm.devices.enqueue(udid, { RequestType: 'DeviceLock', Message: 5 }), 'wrong_type');
  await rejects(mdm.devices.enqueue(udid, { RequestType: 'NoSuchCommand' }), 'unknown_request_type');
  // A malformed plist from a device is refused (HTTP 400), the sync decoder throws.
  const answer = await mdm.handle({ method: 'PUT', path: '/mdm/checkin', body: Buffer.from('<plist') });
  assert.ok(answer.status >= 400);
  assert.throws(() => mdmkit.decodeCheckin(Buffer.from('<plist')), { code: 'plist_malformed' });
  // Wrong PKCS#12 password.
  const push = pki.issue(newTopic());
  const p12 = pki.pkcs12(push.cert, push.key, 'right');
  await rejects(mdm.pushCerts.install({ certificate: p12, password: 'wrong', appleId: 'it@example.com' }), 'p12_bad_password');
  assert.throws(() => mdmkit.inspectPushCertificate(p12, 'wrong'), { code: 'p12_bad_password' });
  // Nothing stored by any of them.
  assert.deepStrictEqual(await mdm.devices.queue(udid), []);
  assert.deepStrictEqual(await mdm.pushCerts.status(), []);
  assert.equal((await mdm.devices.list()).devices.length, 1);
});

test('push certificates: CSR, install with Apple ID and note, dashboard, edit, delete', async () => {
  const { mdm } = await deployment();
  const csr = await mdm.pushCerts.createRequest('it@example.com');
  assert.match(csr, /BEGIN CERTIFICATE REQUEST/);
  const topic = newTopic();
  const push = pki.issue(topic);
  const info = mdm.pushCerts.inspect(pki.pkcs12(push.cert, push.key, 'secret'), 'secret');
  assert.equal(info.topic, topic);
  assert.equal(info.hasPrivateKey, true);
  const report = await mdm.pushCerts.install({
    certificate: pki.pkcs12(push.cert, push.key, 'secret'),
    password: 'secret',
    appleId: 'it@example.com',
    note: 'obtained 2026-12-01',
  });
  assert.deepStrictEqual([report.topic, report.action], [topic, 'installed']);
  assert.ok(report.notAfter instanceof Date);
  const [status] = await mdm.pushCerts.status();
  assert.equal(status.topic, topic);
  assert.equal(status.appleId, 'it@example.com');
  assert.equal(status.note, 'obtained 2026-12-01');
  assert.ok(status.daysRemaining > 300 && status.daysRemaining <= 365);
  assert.equal(status.status, 'valid');
  assert.equal(status.renewSoon, false);
  const edited = await mdm.pushCerts.edit(topic, { note: 'renew in November' });
  assert.equal(edited.note, 'renew in November');
  assert.equal(await mdm.pushCerts.delete(topic), 'renew in November');
  assert.deepStrictEqual(await mdm.pushCerts.status(), []);
  await rejects(mdm.pushCerts.edit(topic, { note: 'x' }), 'topic_not_found');
  // Vendor signing with files that are not certificates is refused before any key is kept.
  const junk = Buffer.from('not a certificate');
  await assert.rejects(
    mdm.pushCerts.createSignedRequest('it@example.com', { certificate: junk, key: junk, wwdrCertificate: junk, appleRootCertificate: junk }),
    (error) => mdmkit.errorCodes().includes(error.code) && error.code !== 'invalid_input',
  );
});

test('enrollment: links and profiles, invitations; secrets not in inspect output', async () => {
  const { mdm } = await deployment();
  const push = pki.issue(newTopic());
  await mdm.pushCerts.install({ certificate: Buffer.concat([push.cert, push.key]), appleId: 'it@example.com' });
  assert.match(await mdm.enrollment.deviceCaPem(), /BEGIN CERTIFICATE/);
  const invitation = await mdm.enrollment.invite('bob', 'bob@example.com', 86400);
  assert.equal(invitation.sent, false);
  assert.ok(invitation.registrationLink.includes('token='));
  const link = await mdm.enrollment.createLink('bob', 3600);
  assert.ok(link.url.startsWith('https://mdm.example.com/enroll?token='));
  assert.ok(link.expiresAt instanceof Date);
  const token = new URL(link.url).searchParams.get('token');
  const profile = await mdm.enrollment.enroll(token);
  assert.equal(profile.userId, 'bob');
  const verified = mdmkit.verifyProfile(profile.profile, pki.caPem);
  assert.deepStrictEqual(verified.profile.payloadTypes.includes('com.apple.mdm'), true);
  await rejects(mdm.enrollment.enroll(token), 'token_invalid');
  const list = await mdm.enrollment.invitations('bob');
  assert.deepStrictEqual(list.map((i) => i.email), ['bob@example.com']);
  assert.ok(list[0].createdAt instanceof Date);
  assert.equal(await mdm.enrollment.revokeInvitation(list[0].id), true);
  await rejects(mdm.enrollment.createLink('carol', -1), 'invalid_input');
  // The handle shows no secret (store key, settings) when inspected or logged.
  const shown = inspect(mdm, { depth: 5 }) + inspect(mdm.settings) + inspect(mdm.devices);
  assert.ok(!shown.includes('BEGIN'), shown);
});

test('settings: list (secrets never shown), set checked, get', async () => {
  const { mdm } = await deployment();
  const settings = await mdm.settings.list();
  const key = settings.find((s) => s.name === 'device_ca_key');
  assert.deepStrictEqual([key.secret, key.isSet, key.value], [true, true, undefined]);
  await mdm.settings.set('organisation', 'Other Org');
  assert.equal(await mdm.settings.get('organisation'), 'Other Org');
  await rejects(mdm.settings.set('server_url', 'ftp://x'), 'setting_invalid');
  await rejects(mdm.settings.get('device_ca_key'), 'setting_invalid');
});

test('wrong argument types: invalid_input of ours, never napi status codes', async () => {
  const { mdm } = await deployment();
  // Promise-returning methods reject (nothing thrown synchronously).
  await rejects(Mdm.open(42), 'invalid_input');
  await rejects(Mdm.open('memory:', { key: 7 }), 'invalid_input');
  await rejects(mdm.handle({ method: 'PUT', path: 1, body: Buffer.alloc(0) }), 'invalid_input');
  await rejects(mdm.handle('PUT /mdm'), 'invalid_input');
  await rejects(mdm.devices.list({ limit: 'ten' }), 'invalid_input');
  await rejects(mdm.devices.lock('X', { pin: 123456 }), 'invalid_input');
  await rejects(mdm.devices.enableLostMode('X', 'lost'), 'invalid_input');
  await rejects(mdm.devices.deviceInformation('X', 'OSVersion'), 'invalid_input');
  await rejects(mdm.devices.installProfile('X', 'not a buffer'), 'invalid_input');
  await rejects(mdm.devices.removeProfile('X', 9), 'invalid_input');
  await rejects(mdm.devices.enqueue('X', 'DeviceLock'), 'invalid_input');
  await rejects(mdm.devices.enqueueMany('X', { RequestType: 'DeviceLock' }), 'invalid_input');
  await rejects(mdm.devices.commandStatus(null), 'invalid_input');
  await rejects(mdm.pushCerts.createRequest(1), 'invalid_input');
  await rejects(mdm.pushCerts.createSignedRequest('a@example.com', {}), 'invalid_input');
  await rejects(mdm.pushCerts.install({ certificate: 'PEM text', appleId: 'a@example.com' }), 'invalid_input');
  await rejects(mdm.pushCerts.edit('com.apple.mgmt.x', 'note'), 'invalid_input');
  await rejects(mdm.pushCerts.delete(undefined), 'invalid_input');
  await rejects(mdm.enrollment.init({ baseUrl: 5 }), 'invalid_input');
  await rejects(mdm.enrollment.createLink('carol', '3600'), 'invalid_input');
  await rejects(mdm.enrollment.enroll(Buffer.from('token')), 'invalid_input');
  await rejects(mdm.enrollment.invite('carol', 5, 3600), 'invalid_input');
  await rejects(mdm.enrollment.invitations(5), 'invalid_input');
  await rejects(mdm.enrollment.revokeInvitation({}), 'invalid_input');
  await rejects(mdm.settings.set('server_url', 1), 'invalid_input');
  await rejects(mdm.settings.get(true), 'invalid_input');
  // Synchronous functions throw invalid_input.
  const sync = (run) => assert.throws(run, (error) => error.code === 'invalid_input' && /wrong type/.test(error.message));
  sync(() => mdmkit.decodeCheckin('<plist/>'));
  sync(() => mdmkit.decodeCheckin(Buffer.from('<plist/>'), 'yes'));
  sync(() => mdmkit.decodeCommand(42));
  sync(() => mdmkit.decodeResult(Buffer.alloc(0), 7));
  sync(() => mdmkit.renderCommand({ RequestType: 'DeviceLock' }, 5));
  sync(() => mdmkit.renderCommand({ RequestType: 'DeviceLock' }, undefined, 1));
  sync(() => mdmkit.requestType(1));
  sync(() => mdmkit.inspectPushCertificate('pem'));
  sync(() => mdm.pushCerts.inspect(Buffer.alloc(1), 5));
  sync(() => mdmkit.profileRead([1, 2]));
  sync(() => mdmkit.profileFromSpec('com.example.wifi'));
  sync(() => mdmkit.verifyProfile(Buffer.alloc(1), 'roots'));
  // Nothing was stored by any of them.
  assert.deepEqual((await mdm.enrollment.invitations()).length, 0);
});

test('a "__proto__" key sent by a device is an own property, never the prototype', () => {
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>CommandUUID</key><string>C1</string>
<key>QueryResponses</key><dict>
  <key>__proto__</key><dict><key>isAdmin</key><true/></dict>
  <key>SerialNumber</key><string>F00</string>
</dict>
<key>Status</key><string>Acknowledged</string>
<key>UDID</key><string>U1</string>
</dict></plist>`);
  const answers = mdmkit.decodeResult(body, 'DeviceInformation').result.QueryResponses;
  assert.equal(Object.getPrototypeOf(answers), Object.prototype);
  assert.equal(answers.isAdmin, undefined);
  assert.ok(Object.hasOwn(answers, '__proto__'));
  assert.deepStrictEqual(Object.keys(answers).sort(), ['SerialNumber', '__proto__']);
  assert.equal(answers.__proto__.isAdmin, true);
  assert.equal({}.isAdmin, undefined, 'nothing else touched');
});

test('a "__proto__" key in a device answer stays an own property in commandStatus', async () => {
  const { mdm } = await deployment();
  const { udid, identity } = await enroll(mdm);
  const info = await mdm.devices.deviceInformation(udid, ['SerialNumber']);
  const idle = await mdm.handle({ method: 'PUT', path: '/mdm/server', body: plist({ UDID: udid, Status: 'Idle' }), peerCertificate: identity.der });
  assert.equal(mdmkit.decodeCommand(idle.body).commandUuid, info.commandUuid);
  const answer = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>CommandUUID</key><string>${info.commandUuid}</string>
<key>QueryResponses</key><dict>
  <key>__proto__</key><dict><key>isAdmin</key><true/></dict>
  <key>SerialNumber</key><string>F00</string>
</dict>
<key>Status</key><string>Acknowledged</string>
<key>UDID</key><string>${udid}</string>
</dict></plist>`);
  const ack = await mdm.handle({ method: 'PUT', path: '/mdm/server', body: answer, peerCertificate: identity.der });
  assert.equal(ack.status, 200);
  const [status] = await mdm.devices.commandStatus(info.commandUuid);
  const answers = status.result.QueryResponses;
  assert.equal(answers.SerialNumber, 'F00');
  assert.equal(Object.getPrototypeOf(answers), Object.prototype);
  assert.equal(answers.isAdmin, undefined);
  assert.ok(Object.hasOwn(answers, '__proto__'));
  assert.equal(answers.__proto__.isAdmin, true);
});

test('data values decode as Buffers of their own bytes, in key order, at any depth', () => {
  const a = Buffer.from([0, 1, 2, 0xff, 0x80, 0x7f]);
  const b = randomBytes(300);
  const c = Buffer.from('c');
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>CommandUUID</key><string>C1</string>
<key>Status</key><string>Acknowledged</string>
<key>UDID</key><string>U1</string>
<key>Answer</key><dict>
  <key>A</key><data>${a.toString('base64')}</data>
  <key>Text</key><string>between</string>
  <key>Empty</key><data></data>
  <key>__proto__</key><data>${c.toString('base64')}</data>
  <key>B</key><data>${b.toString('base64')}</data>
  <key>Nested</key><dict><key>C</key><data>${c.toString('base64')}</data><key>D</key><data>${a.toString('base64')}</data></dict>
  <key>List</key><array><data>${b.toString('base64')}</data><dict><key>A</key><data>${a.toString('base64')}</data></dict></array>
</dict>
</dict></plist>`);
  const answer = mdmkit.decodeResult(body).result.Answer;
  assert.deepStrictEqual(Object.keys(answer), ['A', 'Text', 'Empty', '__proto__', 'B', 'Nested', 'List']);
  assert.equal(Object.getPrototypeOf(answer), Object.prototype);
  for (const [value, bytes] of [
    [answer.A, a], [answer.Empty, Buffer.alloc(0)], [answer.__proto__, c], [answer.B, b],
    [answer.Nested.C, c], [answer.Nested.D, a], [answer.List[0], b], [answer.List[1].A, a],
  ]) {
    assert.ok(Buffer.isBuffer(value));
    assert.deepStrictEqual(value, bytes);
  }
  assert.equal(answer.Text, 'between');
  // Each value is its own view: writing one leaves the others as they were.
  answer.A.fill(9);
  assert.deepStrictEqual(answer.B, b);
  assert.deepStrictEqual(answer.Nested.D, a);
});

test('decodeCheckin: Token and UnlockToken as Buffers, or UnlockToken redacted', () => {
  const token = randomBytes(32);
  const unlock = randomBytes(1200);
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>MessageType</key><string>TokenUpdate</string>
<key>UDID</key><string>U1</string><key>Topic</key><string>com.apple.mgmt.External.t</string>
<key>Token</key><data>${token.toString('base64')}</data><key>PushMagic</key><string>m</string>
<key>UnlockToken</key><data>${unlock.toString('base64')}</data></dict></plist>`);
  const shown = mdmkit.decodeCheckin(body, true);
  assert.deepStrictEqual(Object.keys(shown), ['messageType', 'enrollmentId', 'message']);
  assert.equal(shown.messageType, 'TokenUpdate');
  assert.equal(shown.enrollmentId, 'U1');
  assert.deepStrictEqual(Object.keys(shown.message), ['MessageType', 'Topic', 'UDID', 'Token', 'PushMagic', 'UnlockToken']);
  assert.deepStrictEqual(shown.message.Token, token);
  assert.deepStrictEqual(shown.message.UnlockToken, unlock);
  const hidden = mdmkit.decodeCheckin(body).message;
  assert.deepStrictEqual(hidden.Token, token);
  assert.equal(hidden.UnlockToken, '<redacted: 1200 bytes>');
});
