-- Privacy settings per portal user and per enrollment, overriding the server-wide ones
-- (NULL inherits), the portal's branding (one row), the invitation a registration
-- token was sent with, failed portal sign-ins (shared by every server on the store), an
-- index for finding an enrollment by its identity certificate, and that certificate itself
-- (DER; profiles are encrypted to it).

CREATE TABLE mdmkit_privacy_overrides (
    scope_kind          TEXT NOT NULL,  -- 'user' or 'enrollment'
    scope_id            TEXT NOT NULL,
    allow_location      BOOLEAN,
    allow_app_inventory BOOLEAN,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (scope_kind, scope_id)
);

CREATE TABLE mdmkit_branding (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    name              TEXT NOT NULL,
    primary_colour    TEXT,
    accent_colour     TEXT,
    logo              BLOB,
    logo_content_type TEXT,
    updated_at        INTEGER NOT NULL
);

ALTER TABLE mdmkit_tokens ADD COLUMN invitation TEXT;

CREATE TABLE mdmkit_sign_in_failures (
    account      TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until INTEGER,
    last_failure INTEGER NOT NULL
);

CREATE INDEX mdmkit_enrollments_identity ON mdmkit_enrollments (identity_cert_sha256);

ALTER TABLE mdmkit_enrollments ADD COLUMN identity_certificate BLOB;
