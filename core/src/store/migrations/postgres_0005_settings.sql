-- The server's settings (public URLs, device CA, SMTP...): plain values as text, secret
-- values sealed with the at-rest key (exactly one of the two is set).

CREATE TABLE mdmkit_server_settings (
    name       TEXT PRIMARY KEY,
    value      TEXT,
    sealed     BYTEA,
    updated_at BIGINT NOT NULL
);
