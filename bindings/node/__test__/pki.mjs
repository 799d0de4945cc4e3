// A throw-away certificate authority made with the openssl command: the device CA of test
// deployments (issuing device identities) and a stand-in for Apple's push certificate portal.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

const CA_CONFIG = `[ca]
default_ca = test
[test]
database = index.txt
new_certs_dir = .
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
serial = serial
unique_subject = no
[any]
commonName = optional
UID = optional
`;

export class Pki {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'mdmkit-pki-'));
    writeFileSync(join(this.dir, 'index.txt'), '');
    writeFileSync(join(this.dir, 'serial'), '1000\n');
    writeFileSync(join(this.dir, 'ca.cnf'), CA_CONFIG);
    this.openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
      '-subj', '/CN=Test Device CA', '-days', '3650');
  }

  openssl(...args) {
    return execFileSync('openssl', args, { cwd: this.dir, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  get caPem() { return readFileSync(join(this.dir, 'ca.pem')); }
  get caKey() { return readFileSync(join(this.dir, 'ca.key')); }

  /** A key and a certificate issued for it (PEM), `UID=topic` in the subject when given. */
  issue(topic) {
    const name = randomUUID();
    this.openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=device');
    const subject = topic ? `/UID=${topic}/CN=APSP:${topic.split('.').pop()}` : '/CN=device identity';
    this.openssl('ca', '-batch', '-config', 'ca.cnf', '-in', `${name}.csr`, '-out', `${name}.pem`, '-subj', subject, '-notext', '-days', '365');
    return {
      key: readFileSync(join(this.dir, `${name}.key`)),
      cert: readFileSync(join(this.dir, `${name}.pem`)),
      der: this.openssl('x509', '-in', `${name}.pem`, '-outform', 'DER'),
    };
  }

  pkcs12(cert, key, password) {
    const name = randomUUID();
    writeFileSync(join(this.dir, `${name}.pem`), Buffer.concat([cert, key]));
    return this.openssl('pkcs12', '-export', '-in', join(this.dir, `${name}.pem`), '-passout', `pass:${password}`);
  }
}

export const newTopic = () => `com.apple.mgmt.External.${randomUUID()}`;

/** An XML plist of a flat message (strings, Buffers as data). */
export function plist(message) {
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const entries = Object.entries(message).map(([k, v]) => {
    const value = Buffer.isBuffer(v) ? `<data>${v.toString('base64')}</data>` : `<string>${esc(v)}</string>`;
    return `<key>${esc(k)}</key>${value}`;
  });
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>${entries.join('')}</dict></plist>`);
}
