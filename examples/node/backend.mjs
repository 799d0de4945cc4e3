// A small Node backend over mdmkit: serves the MDM endpoints through `mdm.handle` (sans-IO)
// and the enrollment link, and offers its own users `POST /users/:id/devices/:udid/lock`.
//
//   MDMKIT_STORE=mdmkit.db MDMKIT_KEY=<64 hex> TLS_CERT=server.pem TLS_KEY=server.key \
//   API_KEY=… PORT=8443 node examples/node/backend.mjs
//
// With TLS_CERT/TLS_KEY it terminates TLS itself and asks devices for their identity
// certificate (checked by the engine against the device CA); without, devices sign their
// messages (the Mdm-Signature header). Requires the built module (scripts/node.sh).
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Mdm } from '../../bindings/node/index.mjs';

const MDM_PATHS = new Set(['/mdm', '/mdm/checkin', '/mdm/server']);
const LOCK_ROUTE = /^\/users\/([^/]+)\/devices\/([^/]+)\/lock$/;
// Codes a caller caused, and their HTTP status; anything else is a 500.
const STATUS_OF = { not_found: 404, invalid_input: 400, command_not_supported: 409, unlock_token_missing: 409, json_invalid: 400 };

async function readBody(req, limit = 4 * 1024 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('body too large'), { code: 'body_too_large' });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

/** The request handler: MDM endpoints, the enrollment link, the users' lock action. */
export function createHandler(mdm, { apiKey } = {}) {
  return async (req, res) => {
    const url = new URL(req.url, 'http://backend');
    try {
      if (MDM_PATHS.has(url.pathname)) {
        const peer = typeof req.socket.getPeerCertificate === 'function' ? req.socket.getPeerCertificate() : null;
        const answer = await mdm.handle({
          method: req.method,
          path: url.pathname,
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])),
          body: await readBody(req),
          peerCertificate: peer && peer.raw ? peer.raw : undefined,
        });
        if (answer.error) console.error(`mdm: ${url.pathname}: ${answer.error}`);
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      }
      if (req.method === 'GET' && url.pathname === '/enroll') {
        try {
          const { profile } = await mdm.enrollment.enroll(url.searchParams.get('token') ?? '');
          res.writeHead(200, { 'content-type': 'application/x-apple-aspen-config' });
          res.end(profile);
        } catch (error) {
          if (error.code !== 'token_invalid') throw error;
          json(res, 410, { code: error.code, message: 'this enrollment link was used or has expired' });
        }
        return;
      }
      const lock = req.method === 'POST' && url.pathname.match(LOCK_ROUTE);
      if (lock) {
        if (apiKey && req.headers.authorization !== `Bearer ${apiKey}`) {
          json(res, 401, { code: 'unauthorized', message: 'a valid API key is required' });
          return;
        }
        const [user, udid] = [decodeURIComponent(lock[1]), decodeURIComponent(lock[2])];
        const body = await readBody(req, 64 * 1024);
        const { message, phoneNumber } = body.length ? JSON.parse(body.toString('utf8')) : {};
        const device = await mdm.devices.get(udid);
        if (device.owner !== user) {
          json(res, 404, { code: 'not_found', message: `user ${user} has no device ${udid}` });
          return;
        }
        json(res, 202, await mdm.devices.lock(udid, { message, phoneNumber }));
        return;
      }
      json(res, 404, { code: 'not_found', message: 'no such route' });
    } catch (error) {
      const status = error instanceof SyntaxError ? 400 : STATUS_OF[error.code] ?? 500;
      json(res, status, { code: error.code ?? 'invalid_input', message: error.message });
    }
  };
}

/** An HTTP server (HTTPS asking for client certificates when `tls` is given). */
export function createBackend(mdm, { tls, apiKey } = {}) {
  const handler = createHandler(mdm, { apiKey });
  if (tls) {
    return createHttpsServer({ ...tls, requestCert: true, rejectUnauthorized: false }, handler);
  }
  return createHttpServer(handler);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const mdm = await Mdm.open(process.env.MDMKIT_STORE ?? 'mdmkit.db', { key: process.env.MDMKIT_KEY });
  const tls = process.env.TLS_CERT
    ? { cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY) }
    : undefined;
  const server = createBackend(mdm, { tls, apiKey: process.env.API_KEY });
  const port = Number(process.env.PORT ?? 8443);
  server.listen(port, () => console.log(`mdmkit backend on ${tls ? 'https' : 'http'}://0.0.0.0:${port}`));
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close());
}
