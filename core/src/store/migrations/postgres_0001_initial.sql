-- mdmkit schema, version 1 (PostgreSQL). Times are Unix microseconds (UTC). Secret columns
-- (marked "sealed") hold AES-256-GCM ciphertexts, never plaintext.

CREATE TABLE mdmkit_enrollments (
    id                   TEXT PRIMARY KEY,
    device_id            TEXT NOT NULL,
    enrollment_type      TEXT,
    enrolled_topic       TEXT,
    push_token           BYTEA,
    push_magic           TEXT,
    push_topic           TEXT,
    push_invalid_since   BIGINT,
    unlock_token         BYTEA,     -- sealed
    bootstrap_token      BYTEA,     -- sealed
    identity_cert_sha256 TEXT,
    owner                TEXT,
    enabled              BOOLEAN NOT NULL,
    authenticate_message BYTEA,
    token_update_message BYTEA,
    last_seen            BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX mdmkit_enrollments_device ON mdmkit_enrollments (device_id);
CREATE INDEX mdmkit_enrollments_owner ON mdmkit_enrollments (owner);
CREATE INDEX mdmkit_enrollments_topic ON mdmkit_enrollments (push_topic);

CREATE TABLE mdmkit_devices (
    device_id          TEXT PRIMARY KEY,
    serial_number      TEXT,
    model              TEXT,
    product_name       TEXT,
    os_version         TEXT,
    build_version      TEXT,
    device_information BYTEA,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE mdmkit_commands (
    command_uuid TEXT PRIMARY KEY,
    request_type TEXT NOT NULL,
    payload      BYTEA NOT NULL,
    priority     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- One row per (enrollment, command): the command is stored once in mdmkit_commands.
CREATE TABLE mdmkit_command_targets (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id  TEXT NOT NULL,
    command_uuid   TEXT NOT NULL,
    priority       BIGINT NOT NULL,
    status         TEXT,
    finished       BOOLEAN NOT NULL DEFAULT FALSE,
    delivered_at   BIGINT,
    result_payload BYTEA,
    result_at      BIGINT,
    UNIQUE (enrollment_id, command_uuid)
);
CREATE INDEX mdmkit_command_targets_queue
    ON mdmkit_command_targets (enrollment_id, priority DESC, seq) WHERE finished = FALSE;
CREATE INDEX mdmkit_command_targets_command ON mdmkit_command_targets (command_uuid);
CREATE INDEX mdmkit_command_targets_finished
    ON mdmkit_command_targets (result_at) WHERE finished = TRUE;

CREATE TABLE mdmkit_push_certificates (
    topic           TEXT PRIMARY KEY,
    certificate_der BYTEA NOT NULL,
    private_key     BYTEA NOT NULL,  -- sealed
    apple_id        TEXT,
    note            TEXT,
    not_after       BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE mdmkit_push_certificate_events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic     TEXT NOT NULL,
    action    TEXT NOT NULL,
    serial    TEXT,
    not_after BIGINT,
    apple_id  TEXT,
    note      TEXT,
    at        BIGINT NOT NULL
);
CREATE INDEX mdmkit_push_certificate_events_topic ON mdmkit_push_certificate_events (topic, id);

CREATE TABLE mdmkit_csr_keys (
    id          TEXT PRIMARY KEY,
    private_key BYTEA NOT NULL,  -- sealed
    created_at  BIGINT NOT NULL
);

CREATE TABLE mdmkit_certificate_kinds (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    description TEXT
);

CREATE TABLE mdmkit_user_certificates (
    id              TEXT PRIMARY KEY,
    owner           TEXT NOT NULL,
    kind_id         TEXT NOT NULL,
    name            TEXT NOT NULL,
    certificate_der BYTEA NOT NULL,
    pkcs12          BYTEA,  -- sealed
    pkcs12_password BYTEA,  -- sealed
    has_private_key BOOLEAN NOT NULL,
    subject         TEXT,
    issuer          TEXT,
    serial          TEXT,
    not_after       BIGINT,
    uploaded_at     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX mdmkit_user_certificates_owner ON mdmkit_user_certificates (owner);

CREATE TABLE mdmkit_configurations (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    payload           BYTEA NOT NULL,
    certificate_kinds TEXT NOT NULL,  -- JSON array of kind ids
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

CREATE TABLE mdmkit_configuration_kinds (
    configuration_id TEXT NOT NULL,
    kind_id          TEXT NOT NULL,
    PRIMARY KEY (kind_id, configuration_id)
);

CREATE TABLE mdmkit_assignments (
    configuration_id TEXT NOT NULL,
    target_kind      TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    assigned_at      BIGINT NOT NULL,
    PRIMARY KEY (configuration_id, target_kind, target_id)
);
CREATE INDEX mdmkit_assignments_target ON mdmkit_assignments (target_kind, target_id);

CREATE TABLE mdmkit_portal_users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_lower   TEXT NOT NULL UNIQUE,
    name          TEXT,
    password_hash BYTEA,  -- sealed
    enabled       BOOLEAN NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE mdmkit_tokens (
    token_hash TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    email      TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    used_at    BIGINT
);
CREATE INDEX mdmkit_tokens_user ON mdmkit_tokens (user_id);

CREATE TABLE mdmkit_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE mdmkit_audit_events (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT
);
CREATE INDEX mdmkit_audit_events_actor ON mdmkit_audit_events (actor, id);
CREATE INDEX mdmkit_audit_events_target ON mdmkit_audit_events (target, id);
