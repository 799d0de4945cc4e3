-- Declarative Device Management: declarations (validated JSON, keyed by Identifier) in
-- named sets, the sets' assignments to enrollments, each enrollment's reported status
-- items and last status errors, the DeclarationsToken last sent to it, and the data of
-- assets the server serves itself.

CREATE TABLE mdmkit_ddm_declarations (
    identifier       TEXT PRIMARY KEY,
    declaration_type TEXT NOT NULL,
    set_name         TEXT NOT NULL,
    server_token     TEXT NOT NULL,
    body             TEXT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX mdmkit_ddm_declarations_set ON mdmkit_ddm_declarations (set_name);

CREATE TABLE mdmkit_ddm_set_assignments (
    enrollment_id TEXT NOT NULL,
    set_name      TEXT NOT NULL,
    PRIMARY KEY (enrollment_id, set_name)
);
CREATE INDEX mdmkit_ddm_set_assignments_set ON mdmkit_ddm_set_assignments (set_name);

CREATE TABLE mdmkit_ddm_status_items (
    enrollment_id TEXT NOT NULL,
    item          TEXT NOT NULL,
    value         TEXT NOT NULL,
    reported_at   BIGINT NOT NULL,
    PRIMARY KEY (enrollment_id, item)
);

CREATE TABLE mdmkit_ddm_enrollments (
    enrollment_id  TEXT PRIMARY KEY,
    errors         TEXT NOT NULL DEFAULT '[]',
    full_report_at BIGINT,
    has_status     BOOLEAN NOT NULL DEFAULT FALSE,
    synced_token   TEXT
);

CREATE TABLE mdmkit_ddm_asset_data (
    identifier   TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    sha256       TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);
