"""Writes python/mdmkit/errors.py from the table below (code -> class name, family).

Run after adding a code to a Rust crate (the test `test_errors.py` fails until the code is
in the table): `python3 tools/gen_errors.py`.
"""

from pathlib import Path

FAMILIES = {
    "ProtocolError": "A message or command that breaks Apple's schema or the plist format.",
    "StoreError": "The store refused or failed: unknown record, conflict, backend or at-rest key.",
    "DeviceRefused": "The device or its enrollment cannot do what is asked.",
    "CertificateError": "A certificate or private key cannot be read or used.",
    "PushCertificateError": "A push certificate is unusable: topic, expiry, key, vendor chain.",
    "Pkcs12Error": "A PKCS#12 file cannot be opened or holds the wrong things.",
    "ProfileError": "A configuration profile is invalid, or cannot be signed or encrypted.",
    "PushError": "A push to APNs could not be made.",
    "NotificationError": "An e-mail notice could not be sent.",
    "EnrollmentError": "Enrollment, invitation or portal sign-in refused.",
    "UserCertificateError": "A user certificate or kind is unknown or unusable.",
    "InvalidInput": "An argument or setting is missing or not acceptable.",
}

# code: (class, family)
TABLE = {
    # protocol
    "plist_malformed": ("MalformedPlist", "ProtocolError"),
    "body_too_large": ("BodyTooLarge", "ProtocolError"),
    "plist_too_deep": ("PlistTooDeep", "ProtocolError"),
    "missing_key": ("MissingKey", "ProtocolError"),
    "wrong_type": ("WrongType", "ProtocolError"),
    "invalid_value": ("InvalidValue", "ProtocolError"),
    "unknown_key": ("UnknownKey", "ProtocolError"),
    "unknown_request_type": ("UnknownRequestType", "ProtocolError"),
    "unknown_message_type": ("UnknownMessageType", "ProtocolError"),
    "missing_enrollment_id": ("MissingEnrollmentId", "ProtocolError"),
    "unknown_status": ("UnknownStatus", "ProtocolError"),
    "json_invalid": ("InvalidJson", "ProtocolError"),
    "plist_encode": ("PlistEncode", "ProtocolError"),
    "declaration_invalid": ("DeclarationInvalid", "ProtocolError"),
    "declaration_reference": ("DeclarationReference", "ProtocolError"),
    "declarative_request_invalid": ("DeclarativeRequestInvalid", "ProtocolError"),
    # store
    "not_found": ("NotFound", "StoreError"),
    "store_conflict": ("StoreConflict", "StoreError"),
    "command_not_queued": ("CommandNotQueued", "StoreError"),
    "store_input": ("StoreInput", "StoreError"),
    "store_backend": ("StoreBackend", "StoreError"),
    "store_crypto": ("StoreCrypto", "StoreError"),
    "store_key_mismatch": ("StoreKeyMismatch", "StoreError"),
    "store_not_empty": ("StoreNotEmpty", "StoreError"),
    "secret_file_too_open": ("SecretFileTooOpen", "StoreError"),
    "secret_file_io": ("SecretFileIo", "StoreError"),
    # device refused
    "command_not_supported": ("CommandNotSupported", "DeviceRefused"),
    "device_auth_failed": ("DeviceAuthFailed", "DeviceRefused"),
    "unlock_token_missing": ("UnlockTokenMissing", "DeviceRefused"),
    "identity_certificate_missing": ("IdentityCertificateMissing", "DeviceRefused"),
    "enrollment_disabled": ("EnrollmentDisabled", "DeviceRefused"),
    "device_not_found": ("DeviceNotFound", "DeviceRefused"),
    "location_disabled": ("LocationDisabled", "DeviceRefused"),
    # certificates and keys
    "certificate_unreadable": ("CertificateUnreadable", "CertificateError"),
    "certificate_expired": ("CertificateExpired", "CertificateError"),
    "certificate_not_yet_valid": ("CertificateNotYetValid", "CertificateError"),
    "certificate_not_for_email": ("CertificateNotForEmail", "CertificateError"),
    "key_not_supported": ("KeyNotSupported", "CertificateError"),
    "key_unreadable": ("KeyUnreadable", "CertificateError"),
    "key_bad_password": ("KeyBadPassword", "CertificateError"),
    "key_not_rsa": ("KeyNotRsa", "CertificateError"),
    "key_mismatch": ("KeyMismatch", "CertificateError"),
    "csr_unreadable": ("CsrUnreadable", "CertificateError"),
    "chain_mismatch": ("ChainMismatch", "CertificateError"),
    "crypto": ("CryptoFailure", "CertificateError"),
    "empty_input": ("EmptyInput", "CertificateError"),
    # push certificates
    "no_topic": ("NoTopic", "PushCertificateError"),
    "not_mdm_topic": ("NotMdmTopic", "PushCertificateError"),
    "topic_mismatch": ("TopicMismatch", "PushCertificateError"),
    "topic_not_found": ("TopicNotFound", "PushCertificateError"),
    "vendor_key_mismatch": ("VendorKeyMismatch", "PushCertificateError"),
    # PKCS#12
    "p12_bad_password": ("P12BadPassword", "Pkcs12Error"),
    "p12_no_certificate": ("P12NoCertificate", "Pkcs12Error"),
    "p12_not_pkcs12": ("NotPkcs12", "Pkcs12Error"),
    "p12_too_large": ("P12TooLarge", "Pkcs12Error"),
    "p12_too_many_iterations": ("P12TooManyIterations", "Pkcs12Error"),
    "p12_no_mac": ("P12NoMac", "Pkcs12Error"),
    "p12_password_required": ("P12PasswordRequired", "Pkcs12Error"),
    "p12_no_private_key": ("P12NoPrivateKey", "Pkcs12Error"),
    "p12_several_keys": ("P12SeveralKeys", "Pkcs12Error"),
    "p12_no_matching_certificate": ("P12NoMatchingCertificate", "Pkcs12Error"),
    "p12_unsupported_algorithm": ("P12UnsupportedAlgorithm", "Pkcs12Error"),
    "invalid_password": ("InvalidPassword", "Pkcs12Error"),
    # profiles
    "profile_invalid": ("ProfileInvalid", "ProfileError"),
    "profile_signature": ("ProfileSignature", "ProfileError"),
    "profile_encryption": ("ProfileEncryption", "ProfileError"),
    "profile_not_recipient": ("ProfileNotRecipient", "ProfileError"),
    # pushes
    "tls_failure": ("TlsFailure", "PushError"),
    "connection_failure": ("ConnectionFailure", "PushError"),
    "http2_failure": ("Http2Failure", "PushError"),
    "invalid_endpoint": ("InvalidEndpoint", "PushError"),
    "invalid_identity": ("InvalidIdentity", "PushError"),
    "invalid_token": ("InvalidToken", "PushError"),
    # notifications
    "notify_failed": ("NotifyFailed", "NotificationError"),
    "smtp_url": ("SmtpUrl", "NotificationError"),
    "email_address": ("EmailAddress", "NotificationError"),
    "smtp": ("SmtpFailure", "NotificationError"),
    "webhook_invalid": ("WebhookInvalid", "NotificationError"),
    # enrollment and portal
    "token_invalid": ("TokenInvalid", "EnrollmentError"),
    "sign_in_failed": ("SignInFailed", "EnrollmentError"),
    "not_signed_in": ("NotSignedIn", "EnrollmentError"),
    "rate_limited": ("RateLimited", "EnrollmentError"),
    # user certificates
    "unknown_kind": ("UnknownKind", "UserCertificateError"),
    "kind_exists": ("KindExists", "UserCertificateError"),
    "unknown_certificate": ("UnknownCertificate", "UserCertificateError"),
    "key_cleared": ("KeyCleared", "UserCertificateError"),
    "install_failed": ("InstallFailed", "UserCertificateError"),
    # input and configuration
    "invalid_input": ("InvalidArgument", "InvalidInput"),
    "invalid_config": ("InvalidConfig", "InvalidInput"),
    "configuration_invalid": ("ConfigurationInvalid", "InvalidInput"),
    "invalid_script": ("InvalidScript", "InvalidInput"),
    "setting_missing": ("SettingMissing", "InvalidInput"),
    "setting_invalid": ("SettingInvalid", "InvalidInput"),
}

HEADER = '''"""mdmkit's exceptions: one class per stable error code, grouped by family.

Generated by tools/gen_errors.py from its table; edit the table, not this file.
Every exception is an `MdmError` with `.code` (the Rust error's stable code) and the Rust
message, which never contains a secret.
"""

from __future__ import annotations

from typing import Dict, Type


class MdmError(Exception):
    """An error of mdmkit, with its stable `code` and message."""

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self) -> tuple[type[MdmError], tuple[str, str]]:
        return (type(self), (self.code, self.message))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"
'''


def main() -> None:
    out = [HEADER]
    for family, doc in FAMILIES.items():
        out.append(f'\n\nclass {family}(MdmError):\n    """{doc}"""\n')
    for code, (name, family) in TABLE.items():
        out.append(f'\n\nclass {name}({family}):\n    """`{code}`."""\n')
    out.append("\n\n#: The exception class of every stable error code.\n")
    out.append("ERROR_CLASSES: Dict[str, Type[MdmError]] = {\n")
    for code, (name, _) in TABLE.items():
        out.append(f'    "{code}": {name},\n')
    out.append("}\n")
    out.append('''

def _error_for(code: str, message: str) -> MdmError:
    """The exception for `code` (called by the native module)."""
    return ERROR_CLASSES.get(code, MdmError)(code, message)
''')
    names = ["MdmError", *FAMILIES, *(name for name, _ in TABLE.values())]
    out.append("\n\n__all__ = [\n" + "".join(f'    "{n}",\n' for n in names) + '    "ERROR_CLASSES",\n]\n')
    package = Path(__file__).resolve().parent.parent / "python" / "mdmkit"
    (package / "errors.py").write_text("".join(out))
    # The package re-exports every class by name (static, for type checkers and stubtest).
    init = (package / "__init__.py").read_text()
    begin, end = "# BEGIN generated error names\n", "# END generated error names\n"
    head, rest = init.split(begin)
    _, tail = rest.split(end)
    block = "from .errors import (\n" + "".join(f"    {n},\n" for n in ["ERROR_CLASSES", *names]) + ")\n"
    block += "__all__ += [\n" + "".join(f'    "{n}",\n' for n in ["ERROR_CLASSES", *names]) + "]\n"
    (package / "__init__.py").write_text(head + begin + block + end + tail)


if __name__ == "__main__":
    main()
