// ES module entry of the `mdmkit` package: the same native module as `require('mdmkit')`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const binding = require('./index.js');

export const {
  Mdm,
  Devices,
  PushCerts,
  Enrollment,
  Settings,
  EventStream,
  EventSubscription,
  Admins,
  Portal,
  PortalSession,
  OwnCertificates,
  UserCertificates,
  SignedIn,
  registrationQrSvg,
  errorCodes,
  renderCommand,
  decodeCommand,
  decodeCheckin,
  decodeResult,
  requestTypes,
  requestType,
  inspectPushCertificate,
  profileFromSpec,
  profileRead,
  verifyProfile,
} = binding;
export default binding;
