-- Administrators' accounts (the console and the admin API), apart from the portal's end
-- users: unique e-mail address (compared lowercased), an argon2 password hash sealed at
-- rest. Their sessions are rows of mdmkit_tokens of kind 'admin_session'.

CREATE TABLE mdmkit_admin_users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    email_lower   TEXT NOT NULL UNIQUE,
    name          TEXT,
    password_hash BLOB,  -- sealed
    enabled       BOOLEAN NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
