// Administrators, portal sessions and users' certificates: a Node backend acting for its
// signed-in users (their devices, a lock, the command's state as the device answers), and
// the bad inputs it meets (wrong password, another user's device, a bad PKCS#12 file), each
// a rejected Promise with its code and nothing stored.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID, randomBytes, X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import mdmkit from '../index.js';
import { atRestKey } from './helpers.mjs';
import { Pki, newTopic, plist } from './pki.mjs';

let pki;
before(() => {
  pki = new Pki();
});

async function rejects(promise, code) {
  assert.ok(promise instanceof Promise, 'an I/O call returns a Promise');
  await assert.rejects(promise, (error) => {
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/** A deployment with the test CA as device CA and a push certificate. */
async function deployment() {
  const path = join(mkdtempSync(join(tmpdir(), 'mdmkit-portal-')), 'mdmkit.db');
  const key = atRestKey();
  const setup = await mdmkit.Mdm.open(path, { key });
  await setup.enrollment.init({
    baseUrl: 'https://mdm.example.com', enrollmentProfileId: 'com.example.mdm', organisation: 'Example Org',
    deviceCaCertificate: pki.caPem, deviceCaKey: pki.caKey,
  });
  const mdm = await mdmkit.Mdm.open(path, { key });
  const topic = newTopic();
  const push = pki.issue(topic);
  await mdm.pushCerts.install({ certificate: Buffer.concat([push.cert, push.key]), appleId: 'it@example.com' });
  return { mdm, topic };
}

/** A portal user, invited and accepted; the invitation's link works once. */
async function user(mdm, id, password) {
  const report = await mdm.enrollment.invite(id, `${id}@example.com`, 3600);
  const token = new URL(report.portalLink).searchParams.get('token');
  const signedIn = await mdm.portal.acceptInvitation(token, password);
  assert.equal(signedIn.userId, id);
  assert.ok(!inspect(signedIn).includes(signedIn.token), 'the token is not in util.inspect');
  assert.ok(!JSON.stringify(signedIn).includes(signedIn.token));
  await rejects(mdm.portal.acceptInvitation(token, password), 'token_invalid');
  return signedIn;
}

/** A device enrolled through the user's enrollment link: its identity is the user's. */
async function enrollFor(mdm, topic, userId) {
  const link = await mdm.enrollment.createLink(userId, 3600);
  const { profile } = await mdm.enrollment.enroll(new URL(link.url).searchParams.get('token'));
  const xml = mdmkit.verifyProfile(profile, pki.caPem).profile.xml.toString('utf8');
  const at = xml.indexOf('com.apple.security.pkcs12');
  const payload = xml.slice(xml.lastIndexOf('<dict>', at), xml.indexOf('</dict>', at));
  const data = payload.match(/<key>PayloadContent<\/key>\s*<data>([^<]*)<\/data>/)[1];
  const password = payload.match(/<key>Password<\/key>\s*<string>([^<]*)<\/string>/)[1];
  const dir = mkdtempSync(join(tmpdir(), 'mdmkit-device-'));
  writeFileSync(join(dir, 'identity.p12'), Buffer.from(data.replace(/\s/g, ''), 'base64'));
  const pem = execFileSync('openssl', ['pkcs12', '-in', join(dir, 'identity.p12'), '-passin', `pass:${password}`, '-nokeys', '-clcerts']);
  const identity = new X509Certificate(pem).raw;
  const udid = randomUUID().toUpperCase();
  for (const message of [
    { MessageType: 'Authenticate', UDID: udid, Topic: topic, SerialNumber: 'PORTAL01', Model: 'iPhone', ProductName: 'iPhone15,2', OSVersion: '17.4' },
    { MessageType: 'TokenUpdate', UDID: udid, Topic: topic, Token: randomBytes(32), PushMagic: randomUUID(), UnlockToken: randomBytes(32) },
  ]) {
    const answer = await mdm.handle({ method: 'PUT', path: '/mdm/checkin', body: plist(message), peerCertificate: identity });
    assert.equal(answer.status, 200, answer.error ?? '');
  }
  return { udid, identity };
}

test('admins: accounts, sign-in, sessions', async () => {
  const { mdm } = await deployment();
  const admin = await mdm.admins.add('root@example.com', 'correct horse', 'Root');
  assert.deepStrictEqual([admin.email, admin.name, admin.enabled], ['root@example.com', 'Root', true]);
  assert.ok(admin.createdAt instanceof Date);
  assert.deepStrictEqual((await mdm.admins.list()).map((a) => a.id), [admin.id]);
  await rejects(mdm.admins.add('root@example.com', 'other'), 'store_conflict');
  await rejects(mdm.admins.signIn('root@example.com', 'wrong'), 'sign_in_failed');
  const session = await mdm.admins.signIn('root@example.com', 'correct horse');
  assert.equal((await mdm.admins.session(session.token)).adminId, admin.id);
  await mdm.admins.setEnabled(admin.id, false);
  await rejects(mdm.admins.session(session.token), 'not_signed_in');
  await mdm.admins.setEnabled(admin.id, true);
  await mdm.admins.setPassword(admin.id, 'new horse');
  const again = await mdm.admins.signIn('root@example.com', 'new horse');
  await mdm.admins.signOut(again.token);
  await rejects(mdm.admins.session(again.token), 'not_signed_in');
  await rejects(mdm.admins.get('no-such-admin'), 'not_found');
  await rejects(mdm.admins.setEnabled(admin.id, 'yes'), 'invalid_input');
  assert.equal(await mdm.admins.delete(admin.id), true);
  assert.equal(await mdm.admins.delete(admin.id), false);
});

test('a backend acts for its signed-in user: devices, lock, command state; others not found', async () => {
  const { mdm, topic } = await deployment();
  const alice = await user(mdm, 'alice', 'alice-pw-1');
  const bob = await user(mdm, 'bob', 'bob-pw');
  const { udid, identity } = await enrollFor(mdm, topic, 'alice');

  const session = await mdm.portal.session(alice.token);
  assert.equal(session.userId, 'alice');
  assert.deepStrictEqual((await session.devices()).map((d) => d.enrollmentId), [udid]);
  const device = await session.device(udid);
  assert.ok(device.actions.includes('lock') && device.enabled);
  const locked = await session.lock(udid, { message: 'Call IT', phone: '555-0100' });
  assert.equal(await session.commandState(udid, locked.commandUuid), 'queued');
  const idle = await mdm.handle({ method: 'PUT', path: '/mdm/server', body: plist({ UDID: udid, Status: 'Idle' }), peerCertificate: identity });
  assert.equal(mdmkit.decodeCommand(idle.body).commandUuid, locked.commandUuid);
  assert.equal(await session.commandState(udid, locked.commandUuid), 'pushed');
  await mdm.handle({ method: 'PUT', path: '/mdm/server', body: plist({ UDID: udid, Status: 'Acknowledged', CommandUUID: locked.commandUuid }), peerCertificate: identity });
  assert.equal(await session.commandState(udid, locked.commandUuid), 'acknowledged');
  await rejects(session.commandState(udid, 'NO-SUCH-COMMAND'), 'not_found');
  // Location is off by default (privacy settings): refused, nothing queued.
  await rejects(session.location(udid), 'location_disabled');
  await rejects(session.locate(udid), 'location_disabled');
  const link = await session.registrationLink();
  assert.equal(link.userId, 'alice');
  assert.match(mdmkit.registrationQrSvg(link.url), /svg/);
  assert.throws(() => mdmkit.registrationQrSvg(''), { code: 'invalid_input' });
  assert.throws(() => mdmkit.registrationQrSvg(5), { code: 'invalid_input' });

  // Bob's session: Alice's device is not found, whatever he tries; nothing is queued.
  const other = await mdm.portal.session(bob.token);
  assert.deepStrictEqual(await other.devices(), []);
  for (const call of [
    () => other.device(udid), () => other.lock(udid), () => other.unlock(udid), () => other.locate(udid),
    () => other.location(udid), () => other.wipe(udid), () => other.retire(udid), () => other.checkIn(udid),
    () => other.commandState(udid, locked.commandUuid), () => session.device('NO-SUCH-DEVICE'),
  ]) {
    await rejects(call(), 'device_not_found');
  }
  assert.deepStrictEqual(await mdm.devices.queue(udid), []);

  // Account and password; a wrong password is refused; the old session ends.
  assert.equal((await session.user()).email, 'alice@example.com');
  assert.equal((await session.updateAccount({ name: 'Alice A.' })).name, 'Alice A.');
  await rejects(mdm.portal.signIn('alice@example.com', 'wrong'), 'sign_in_failed');
  await rejects(session.changePassword('wrong', 'alice-pw-2'), 'sign_in_failed');
  const renewed = await session.changePassword('alice-pw-1', 'alice-pw-2');
  await rejects(mdm.portal.session(alice.token), 'not_signed_in');
  assert.equal((await mdm.portal.signIn('alice@example.com', 'alice-pw-2')).userId, 'alice');
  await mdm.portal.signOut(renewed.token);
  await rejects(mdm.portal.session(renewed.token), 'not_signed_in');
  await rejects(mdm.portal.session(42), 'invalid_input');
  await rejects(other.lock(udid, 'Call IT'), 'invalid_input');
});

test('users\' certificates: the administrator\'s and the user\'s own, bad files refused', async () => {
  const { mdm } = await deployment();
  const kind = await mdm.userCerts.addKind('Signing', 'signing');
  assert.deepStrictEqual([kind.id, kind.usage], ['signing', 'signing']);
  await rejects(mdm.userCerts.addKind('Signing', 'signing'), 'kind_exists');
  await rejects(mdm.userCerts.addKind('Other', 'sideways'), 'invalid_input');
  const { cert, key } = pki.issue(null);
  const p12 = pki.pkcs12(cert, key, 'p12-pw');
  const added = await mdm.userCerts.add('carol', 'signing', p12, 'p12-pw', "Carol's");
  assert.ok(added.hasPrivateKey && added.owner === 'carol' && added.uploadedAt instanceof Date);
  assert.equal((await mdm.userCerts.edit(added.id, 'Renamed')).name, 'Renamed');
  assert.equal((await mdm.userCerts.clearPrivateKey(added.id)).hasPrivateKey, false);
  assert.equal(await mdm.userCerts.delete(added.id), true);
  await rejects(mdm.userCerts.get(added.id), 'unknown_certificate');
  await rejects(mdm.userCerts.add('carol', 'signing', p12, 'wrong'), 'p12_bad_password');
  await rejects(mdm.userCerts.add('carol', 'signing', Buffer.from('junk'), 'p12-pw'), 'p12_not_pkcs12');
  await rejects(mdm.userCerts.add('carol', 'nope', p12, 'p12-pw'), 'unknown_kind');
  await rejects(mdm.userCerts.add('carol', 'signing', 'not a buffer', 'p12-pw'), 'invalid_input');
  assert.deepStrictEqual(await mdm.userCerts.list('carol'), []);

  const dave = (await mdm.portal.session((await user(mdm, 'dave', 'dave-pw')).token)).certificates;
  const erin = (await mdm.portal.session((await user(mdm, 'erin', 'erin-pw')).token)).certificates;
  assert.deepStrictEqual((await dave.kinds()).map((k) => k.id), ['signing']);
  const own = await dave.add('Signing', p12, 'p12-pw');
  assert.deepStrictEqual((await dave.list()).map((c) => c.id), [own.id]);
  await rejects(dave.add('signing', p12, 'wrong'), 'p12_bad_password');
  await rejects(erin.edit(own.id, 'Mine'), 'unknown_certificate');
  await rejects(erin.clearPrivateKey(own.id), 'unknown_certificate');
  assert.equal(await erin.delete(own.id), false);
  assert.equal((await dave.edit(own.id, "Dave's")).name, "Dave's");
  assert.equal(await dave.delete(own.id), true);
  assert.deepStrictEqual(await dave.list(), []);
});

test('branding: set by administrators, read by the portal; bad input stores nothing', async () => {
  const { mdm } = await deployment();
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  assert.equal(await mdm.branding(), null);
  assert.equal(await mdm.portal.branding(), null);
  await rejects(mdm.setBranding({ name: 'Example Org', primaryColour: '#12345' }), 'invalid_input');
  await rejects(mdm.setBranding({ name: 'Example Org', logo: Buffer.from('%PDF-1.7') }), 'invalid_input');
  await rejects(mdm.setBranding({ name: 'Example Org', logo: Buffer.concat([png, Buffer.alloc(512 * 1024)]) }), 'invalid_input');
  await rejects(mdm.setBranding({ name: 42 }), 'invalid_input');
  await rejects(mdm.setBranding('Example Org'), 'invalid_input');
  assert.equal(await mdm.branding(), null, 'refused branding stores nothing');

  const first = await mdm.setBranding({ name: 'Example Org', primaryColour: '#a1b2c3', logo: png });
  assert.equal(first.name, 'Example Org');
  assert.equal(first.primaryColour, '#A1B2C3');
  assert.equal(first.accentColour ?? null, null);
  assert.ok(Buffer.isBuffer(first.logo) && first.logo.equals(png));
  assert.equal(first.logoContentType, 'image/png');
  assert.ok(first.updatedAt instanceof Date && !Number.isNaN(first.updatedAt.getTime()));

  // Replaced, not merged: the logo set before is gone.
  const second = await mdm.setBranding({ name: 'Example Org 2', accentColour: '#00ff00' });
  assert.equal(second.logo ?? null, null);
  assert.equal(second.accentColour, '#00FF00');
  assert.ok(second.updatedAt >= first.updatedAt);
  assert.deepStrictEqual(await mdm.branding(), second);
  assert.deepStrictEqual(await mdm.portal.branding(), second);

  const signedIn = await user(mdm, 'bob', 'bob-pw-1');
  const session = await mdm.portal.session(signedIn.token);
  assert.equal((await session.branding()).name, 'Example Org 2');
});
