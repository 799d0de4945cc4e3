// The portal and the console in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; nothing downloads a browser). Run by scripts/browser.sh, which builds
// `mdmkit` and the deployment fixture (examples/web_fixture.rs) and passes their paths in
// MDMKIT_BIN and WEB_FIXTURE_BIN.
//
// One scenario, in order: the administrator signs in, registers the push certificate,
// sees it on the dashboard, invites alice; alice sets her password, registers her iPhone
// (the simulated device enrolls with the served profile), locks it, and sees the lock
// acknowledged; her certificates; the refusals (another user's device, a form without its
// CSRF token, a certificate of another topic); both languages; a screenshot of every page
// and an accessibility check (axe-core: no serious or critical violation) on each.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const screenshots = path.join(root, 'target', 'browser-screenshots');
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-quic'];

/** The deployment: `web-fixture` (serve + mock APNs + "Apple" + a simulated iPhone). */
class Fixture {
  static async start() {
    const fixture = new Fixture();
    fixture.child = spawn(process.env.WEB_FIXTURE_BIN, [process.env.MDMKIT_BIN],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    fixture.lines = readline.createInterface({ input: fixture.child.stdout })[Symbol.asyncIterator]();
    fixture.config = await fixture.next();
    return fixture;
  }
  async next() {
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the fixture stopped');
    return JSON.parse(value);
  }
  async ask(line) {
    this.child.stdin.write(`${line}\n`);
    const answer = await this.next();
    if (answer.error) throw new Error(`fixture: ${line}: ${answer.error}`);
    return answer;
  }
  async stop() {
    this.child.stdin.end('quit\n');
    await new Promise((resolve) => this.child.once('exit', resolve));
  }
}

let fixture;
let browser;
let base;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mdmkit-browser-'));
const checked = [];

/** Every page: a screenshot, the accessibility check, no script blocked by the policy. */
async function check(page, name) {
  await page.waitForLoadState('load');
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(' ')})`), [],
    `${name}: accessibility violations`);
  const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]'));
  assert.equal(csp, null);
  assert.deepEqual(page.violations, [], `${name}: the page's policy refused something`);
  checked.push(name);
}

async function newPage(locale) {
  const context = await browser.newContext({ locale, acceptDownloads: true });
  const page = await context.newPage();
  page.violations = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) page.violations.push(message.text());
  });
  return page;
}

before(async () => {
  fs.mkdirSync(screenshots, { recursive: true });
  fixture = await Fixture.start();
  base = fixture.config.url;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

after(async () => {
  if (browser) await browser.close();
  if (fixture) await fixture.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(`screenshots of ${checked.length} pages in ${screenshots}`);
});

const state = {};

async function downloadCsr(page, email) {
  await page.goto(`${base}/console/push`);
  await page.fill('#csr-email', email);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('form[action="/console/push/csr"] button[type=submit]'),
  ]);
  const file = path.join(tmp, `${Date.now()}.csr`);
  await download.saveAs(file);
  assert.match(fs.readFileSync(file, 'utf8'), /BEGIN CERTIFICATE REQUEST/);
  return file;
}

test('the administrator signs in and registers the push certificate', async () => {
  const page = await newPage('en-GB');
  state.admin = page;
  const signin = await page.goto(`${base}/console/signin`);
  const headers = signin.headers();
  assert.match(headers['content-security-policy'], /script-src 'self'/);
  assert.doesNotMatch(headers['content-security-policy'], /unsafe-inline'[^;]*;\s*$|script-src[^;]*unsafe/);
  await check(page, 'console-signin');
  // A wrong password: refused, in words.
  await page.fill('#email', fixture.config.adminEmail);
  await page.fill('#password', 'not the password');
  await page.click('button[type=submit]');
  await assert.doesNotReject(page.waitForSelector('.error'));
  await page.fill('#password', fixture.config.adminPassword);
  await page.click('form[action="/console/signin"] button[type=submit]');
  await page.waitForURL(`${base}/console/`);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'mdmkit_console');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  await check(page, 'console-dashboard-empty');

  const csr = await downloadCsr(page, 'it@example.com');
  const { pem } = await fixture.ask(`issue ${csr} 365`);
  await page.setInputFiles('#push-file', pem);
  await page.fill('#push-apple-id', 'it@example.com');
  await page.fill('#push-note', 'obtained 2026-12-02');
  await page.click('form[action="/console/push/upload"] button[type=submit]');
  await page.waitForSelector('.notice');
  const text = await page.textContent('main');
  assert.match(text, /com\.apple\.mgmt\.External\.5d0c1b8e/);
  assert.match(text, /it@example\.com/);
  assert.match(text, /obtained 2026-12-02/);
  await check(page, 'console-push');

  await page.goto(`${base}/console/`);
  const dashboard = await page.textContent('main');
  assert.match(dashboard, /com\.apple\.mgmt\.External\.5d0c1b8e/);
  assert.match(dashboard, /36[45] days/);
  await check(page, 'console-dashboard');
});

test('a push certificate of another topic is refused with the explanation', async () => {
  const page = state.admin;
  const csr = await downloadCsr(page, 'it@example.com');
  const { pem } = await fixture.ask(`issue ${csr} 365 other`);
  await page.setInputFiles('#push-file', pem);
  await page.fill('#push-apple-id', 'it@example.com');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/console/push/upload')),
    page.click('form[action="/console/push/upload"] button[type=submit]'),
  ]);
  assert.equal(response.status(), 400);
  const error = await page.textContent('.error');
  assert.match(error, /topic/i);
  assert.match(error, /delete/i);
  await check(page, 'console-push-other-topic');
  // Still the first certificate only.
  assert.doesNotMatch(await page.textContent('section[aria-labelledby=registered]'), /0f9e8d7c/);
  // The deletion confirmation says what deleting means (not confirmed here).
  await page.click('form[action="/console/push/delete"] button[type=submit]');
  assert.match(await page.textContent('main'), /cannot be managed until a new certificate/);
  await check(page, 'console-push-delete-confirm');
});

test('the administrator invites alice', async () => {
  const page = state.admin;
  await page.goto(`${base}/console/users`);
  await page.fill('#invite-user', 'alice');
  await page.fill('#invite-email', 'alice@example.com');
  await page.click('form[action="/console/users/invite"] button[type=submit]');
  const link = await page.getAttribute('#portal-link', 'href');
  assert.match(link, /\/portal\/?\?token=/);
  state.aliceInvitation = link;
  await check(page, 'console-users');
});

test('alice sets her password, registers her iPhone and locks it (Japanese)', async () => {
  const page = await newPage('ja-JP');
  state.alice = page;
  await page.goto(state.aliceInvitation);
  assert.equal(new URL(page.url()).search, '', 'the token leaves the address bar');
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  assert.match(await page.textContent('h1'), /パスワードの設定/);
  await check(page, 'portal-accept-ja');
  await page.fill('#password', 'alice-password-1');
  await page.fill('#confirm', 'alice-password-1');
  await page.click('form[action="/portal/accept"] button[type=submit]');
  await page.waitForURL(`${base}/portal/devices`);
  await check(page, 'portal-devices-empty-ja');

  await page.goto(`${base}/portal/register`);
  const link = await page.getAttribute('#registration-link', 'href');
  assert.match(link, /\/enroll\?token=/);
  assert.equal(await page.locator('.qr svg').count(), 1);
  await check(page, 'portal-register-ja');
  assert.equal((await page.locator('img.logo').count()), 1, 'the logo is an image');
  assert.notEqual(await page.title(), 'pwned');
  const { udid } = await fixture.ask(`enroll ${link}`);
  state.udid = udid;

  await page.goto(`${base}/portal/devices`);
  assert.match(await page.textContent('main'), /iPhone15,2/);
  assert.match(await page.textContent('main'), /17\.4/);
  await check(page, 'portal-devices-ja');
  await page.click(`a[href="/portal/devices/${udid}"] >> nth=0`);
  await check(page, 'portal-device-ja');
  const pushesBefore = (await fixture.ask('pushes')).count;
  await page.fill('#lock-message', 'Found? Call +81 3 0000 0000');
  await page.fill('#lock-phone', '+81 3 0000 0000');
  await page.click('#lock-button');
  await page.waitForSelector('#command-state');
  assert.match(await page.textContent('#command-state'), /ロック/);
  assert.ok((await fixture.ask('pushes')).count > pushesBefore, 'the lock was pushed');
  const { commands } = await fixture.ask('poll');
  assert.deepEqual(commands, ['DeviceLock']);
  await page.reload();
  await page.waitForSelector('#command-state .state-acknowledged');
  assert.match(await page.textContent('#command-state'), /デバイスが完了を確認/);
  await check(page, 'portal-device-locked-ja');
  for (const action of ['wipe', 'retire']) {
    await page.goto(`${base}/portal/devices/${udid}/${action}`);
    assert.match(await page.textContent('main'), /iPhone15,2|00008110/);
    await check(page, `portal-confirm-${action}-ja`);
  }
  await page.goto(`${base}/portal/account`);
  await check(page, 'portal-account-ja');
});

test('alice switches to English', async () => {
  const page = state.alice;
  await page.goto(`${base}/portal/devices`);
  await page.click('#switch-language');
  await page.waitForURL(`${base}/portal/devices`);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.match(await page.textContent('h1'), /My devices/);
  await check(page, 'portal-devices-en');
  await page.goto(`${base}/portal/devices/${state.udid}`);
  await check(page, 'portal-device-en');
  await page.goto(`${base}/portal/account`);
  await check(page, 'portal-account-en');
  await page.goto(`${base}/portal/register`);
  await check(page, 'portal-register-en');
});

test('alice uploads her PKCS#12: a wrong password, the right one, clears its key, deletes it', async () => {
  const page = state.alice;
  const { path: p12, password } = await fixture.ask('p12');
  await page.goto(`${base}/portal/certificates`);
  await check(page, 'portal-certificates-empty-en');
  await page.setInputFiles('#cert-file', p12);
  await page.fill('#cert-password', 'not-the-password');
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/portal/certificates/add')),
    page.click('form[action="/portal/certificates/add"] button[type=submit]'),
  ]);
  assert.equal(refused.status(), 400);
  assert.match(await page.textContent('#certificate-error'), /password of this file is wrong/);
  assert.equal(await page.locator('#no-certificates').count(), 1, 'nothing stored');
  await check(page, 'portal-certificates-refused-en');

  await page.setInputFiles('#cert-file', p12);
  await page.fill('#cert-password', password);
  await page.fill('#cert-label', 'Work mail');
  await page.click('form[action="/portal/certificates/add"] button[type=submit]');
  await page.waitForURL(/done=added/);
  const listed = await page.textContent('table');
  assert.match(listed, /Work mail \(Signing\)/);
  assert.match(listed, /alice@example\.com/);
  assert.match(listed, /Issuer/);
  await check(page, 'portal-certificates-en');

  await page.click('form[action$="/clear"] button');
  assert.match(await page.textContent('main'), /Work mail/);
  assert.match(await page.textContent('main'), /cannot be undone/);
  await check(page, 'portal-certificate-clear-confirm-en');
  await page.click('form[method=post] button.danger');
  await page.waitForURL(/done=cleared/);
  assert.match(await page.textContent('table'), /Private key cleared/);
  assert.equal(await page.locator('form[action$="/clear"]').count(), 0);

  await page.click('form[action$="/delete"] button');
  await check(page, 'portal-certificate-delete-confirm-en');
  await page.click('form[method=post] button.danger');
  await page.waitForURL(/done=deleted/);
  assert.equal(await page.locator('#no-certificates').count(), 1);
});

test('a form posted without its CSRF token is refused and changes nothing', async () => {
  const page = state.alice;
  await page.goto(`${base}/portal/devices/${state.udid}`);
  const lock = `${base}/portal/devices/${state.udid}/lock`;
  const statuses = [
    (await page.request.post(lock, { form: { message: 'x' } })).status(),
    (await page.request.post(lock, { form: { _csrf: '0'.repeat(40), message: 'x' } })).status(),
  ];
  assert.deepEqual(statuses, [403, 403]);
  const { commands } = await fixture.ask('poll');
  assert.deepEqual(commands, [], 'nothing was queued');
  // The console too.
  const consoleStatus = (await state.admin.request.post(`${base}/console/users/invite`, {
    form: { user: 'mallory', email: 'mallory@example.com' },
  })).status();
  assert.equal(consoleStatus, 403);
  await state.admin.goto(`${base}/console/users`);
  assert.doesNotMatch(await state.admin.textContent('main'), /mallory/);
});

test("another user's device is not found, like a missing one", async () => {
  const { portal } = await fixture.ask('invite bob bob@example.com');
  const page = await newPage('en-US');
  await page.goto(portal);
  await page.fill('#password', 'bob-password-12');
  await page.fill('#confirm', 'bob-password-12');
  await page.click('form[action="/portal/accept"] button[type=submit]');
  await page.waitForURL(`${base}/portal/devices`);
  const theirs = await page.goto(`${base}/portal/devices/${state.udid}`);
  const theirsText = await page.textContent('main');
  await check(page, 'portal-not-found');
  const missing = await page.goto(`${base}/portal/devices/00000000-NOSUCHDEVICE`);
  assert.equal(theirs.status(), 404);
  assert.equal(missing.status(), 404);
  assert.equal(await page.textContent('main'), theirsText);
  // An action on it: the same, and nothing queued.
  await page.goto(`${base}/portal/devices`);
  const csrf = await page.getAttribute('input[name=_csrf]', 'value');
  const status = (await page.request.post(`${base}/portal/devices/${state.udid}/lock`, {
    form: { _csrf: csrf, message: 'mine' },
  })).status();
  assert.equal(status, 404);
  assert.deepEqual((await fixture.ask('poll')).commands, []);
  await page.context().close();
});

test('the logo is served as an image that runs nothing', async () => {
  const page = state.alice;
  const response = await page.goto(`${base}/portal/logo`);
  const headers = response.headers();
  assert.equal(headers['content-type'], 'image/svg+xml');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.match(headers['content-security-policy'], /sandbox/);
  assert.match(headers['content-security-policy'], /default-src 'none'/);
  assert.notEqual(await page.title(), 'pwned');
});

test('the console lists the device and its state, and the dashboard counts it', async () => {
  const page = state.admin;
  await page.goto(`${base}/console/devices`);
  assert.match(await page.textContent('main'), new RegExp(state.udid));
  await check(page, 'console-devices');
  await page.goto(`${base}/console/devices/${state.udid}`);
  await check(page, 'console-device');
  // Privacy, certificate kinds (the fixture defined "Signing"), the audit log.
  await page.goto(`${base}/console/settings`);
  assert.match(await page.textContent('main'), /Signing/);
  await page.fill('#kind-name', 'Encryption');
  await page.selectOption('#kind-usage', 'encryption');
  await page.click('form[action="/console/settings/kinds"] button[type=submit]');
  assert.match(await page.textContent('main'), /Encryption/);
  await page.check('#allow-location');
  await page.click('form[action="/console/settings/privacy"] button[type=submit]');
  assert.equal(await page.isChecked('#allow-location'), true);
  await check(page, 'console-settings');
  await page.goto(`${base}/console/audit`);
  assert.match(await page.textContent('main'), /portal\.lock/);
  assert.match(await page.textContent('main'), /privacy\.set/);
  await check(page, 'console-audit');
  await page.goto(`${base}/console/`);
  assert.equal((await page.textContent('#count-total')).trim(), '1');
  // Japanese console.
  await page.click('#switch-language');
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  assert.match(await page.textContent('main'), /残り日数/);
  await check(page, 'console-dashboard-ja');
  await page.click('#switch-language');
});

test('signing out ends the session', async () => {
  const page = state.alice;
  await page.goto(`${base}/portal/devices`);
  await page.click('form[action="/portal/signout"] button');
  await page.waitForURL(`${base}/portal/signin`);
  await check(page, 'portal-signin-en');
  await page.goto(`${base}/portal/devices`);
  assert.equal(new URL(page.url()).pathname, '/portal/signin');
});
