// Runs every case of the shared binding parity list (tests/bindings/cases.json), the same
// list the Python and Swift bindings run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mdmkit from '../index.js';
import { REPO, fromJson, body } from './helpers.mjs';

const CASES = JSON.parse(readFileSync(join(REPO, 'tests', 'bindings', 'cases.json'), 'utf8')).cases;

function subset(expected, actual) {
  for (const [key, value] of Object.entries(expected)) {
    assert.deepStrictEqual(actual[key], value, key);
  }
}

const OPERATIONS = {
  render_command(input, expected) {
    const out = mdmkit.renderCommand(fromJson(input.command), input.command_uuid, input.format);
    assert.ok(Buffer.isBuffer(out));
    const decoded = mdmkit.decodeCommand(out);
    assert.deepStrictEqual(
      { CommandUUID: decoded.commandUuid, Command: decoded.command },
      fromJson(expected.plist),
    );
    if (expected.starts_with) assert.equal(out.subarray(0, expected.starts_with.length).toString(), expected.starts_with);
  },
  decode_checkin(input, expected) {
    const message = mdmkit.decodeCheckin(body(input), true);
    assert.equal(message.messageType, expected.message_type);
    assert.equal(message.enrollmentId, expected.enrollment_id);
    subset(fromJson(expected.keys ?? {}), message.message);
  },
  decode_result(input, expected) {
    const result = mdmkit.decodeResult(body(input), input.request_type);
    for (const [field, js] of [['status', 'status'], ['command_uuid', 'commandUuid'], ['request_type', 'requestType'], ['enrollment_id', 'enrollmentId']]) {
      if (field in expected) assert.equal(result[js], expected[field], field);
    }
    subset(fromJson(expected.keys ?? {}), result.result);
    if (expected.error_chain_codes) {
      assert.deepStrictEqual(result.errorChain.map((e) => e.ErrorCode), expected.error_chain_codes);
    }
  },
  request_type(input, expected) {
    const names = new Set(mdmkit.requestType(input.name).platforms.map((p) => p.split(' ')[0]));
    for (const name of expected.platforms_include ?? []) assert.ok(names.has(name), name);
    for (const name of expected.platforms_exclude ?? []) assert.ok(!names.has(name), name);
  },
  inspect_push_certificate(input, expected) {
    const info = mdmkit.inspectPushCertificate(Buffer.from(input.data_base64, 'base64'), input.password);
    const snake = Object.fromEntries(Object.entries(info).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));
    subset(expected, snake);
  },
  profile_from_spec(input, expected) {
    const profile = mdmkit.profileFromSpec(input.spec);
    assert.equal(profile.identifier, expected.identifier);
    assert.deepStrictEqual(profile.payloadTypes, expected.payload_types);
  },
  profile_read(input, expected) {
    assert.equal(mdmkit.profileRead(body(input)).identifier, expected.identifier);
  },
  verify_profile(input, expected) {
    subset(expected, { signer_subject: mdmkit.verifyProfile(body(input)).signerSubject });
  },
  registration_qr_svg(input, expected) {
    const svg = mdmkit.registrationQrSvg(input.url);
    assert.ok(svg.includes(expected.contains) && svg.endsWith(expected.ends_with));
  },
  async set_branding(input, expected) {
    const mdm = await mdmkit.Mdm.open('memory:');
    const logo = input.logo_base64 === undefined ? undefined : Buffer.from(input.logo_base64, 'base64');
    let stored;
    try {
      stored = await mdm.setBranding({
        name: input.name,
        primaryColour: input.primary_colour,
        accentColour: input.accent_colour,
        logo,
      });
    } catch (error) {
      assert.equal(await mdm.branding(), null, 'nothing stored');
      throw error;
    }
    for (const read of [await mdm.branding(), await mdm.portal.branding()]) {
      assert.deepStrictEqual(read, stored);
    }
    assert.ok(stored.updatedAt instanceof Date);
    assert.ok(logo === undefined ? stored.logo == null : Buffer.isBuffer(stored.logo) && stored.logo.equals(logo));
    subset(expected, {
      name: stored.name,
      primary_colour: stored.primaryColour ?? null,
      accent_colour: stored.accentColour ?? null,
      logo_content_type: stored.logoContentType ?? null,
      logo_bytes: stored.logo == null ? null : stored.logo.length,
    });
  },
};

// Operations that do I/O (a Promise); the others are synchronous and throw.
const ASYNC = new Set(['set_branding']);

test('every operation of the list is run here', () => {
  for (const c of CASES) assert.ok(c.operation in OPERATIONS, c.operation);
  assert.ok(CASES.length >= 30);
});

for (const c of CASES) {
  test(`parity: ${c.name}`, async () => {
    const run = OPERATIONS[c.operation];
    const check = (error) => {
      assert.ok(error instanceof Error);
      assert.equal(error.code, c.error, error.message);
      return true;
    };
    if ('error' in c && ASYNC.has(c.operation)) {
      await assert.rejects(run(c.input, {}), check);
    } else if ('error' in c) {
      assert.throws(() => run(c.input, {}), check);
    } else {
      await run(c.input, c.expected);
    }
  });
}
