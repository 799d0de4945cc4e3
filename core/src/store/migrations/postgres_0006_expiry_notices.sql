-- Expiry notices claimed by the servers sharing the store: one row per notice key
-- (`push_certificate:<topic>`, `vendor_certificate:<subject>`, ...) with the time of the
-- last claim (Unix microseconds), so that a notice goes out once per interval even when
-- several servers check at the same time.

CREATE TABLE mdmkit_expiry_notices (
    notice_key TEXT PRIMARY KEY,
    claimed_at BIGINT NOT NULL
);
