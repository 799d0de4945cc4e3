-- The at-rest key check: HMAC-SHA256, under the store's at-rest key, of a constant (never
-- the key or a hash of it). Written when the store is created, verified at every open
-- before anything is written. From this version on, the raw check-in messages
-- (mdmkit_enrollments.authenticate_message, token_update_message), DeviceInformation
-- results (mdmkit_devices.device_information), command payloads (mdmkit_commands.payload),
-- command results (mdmkit_command_targets.result_payload) and configuration payloads
-- (mdmkit_configurations.payload) are sealed too; the open that applies this migration
-- seals the plaintext ones an older version left, in the same transaction.

CREATE TABLE mdmkit_store_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    key_check  BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
