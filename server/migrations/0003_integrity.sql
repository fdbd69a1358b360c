-- Settlement integrity (issue 9). Portable between SQLite (3.25+) and PostgreSQL.

-- Secrets kept at rest are sealed (AES-256-GCM under the master key, see secrets.rs); the
-- columns say so. Values from before are sealed at start-up.
ALTER TABLE wallets RENAME COLUMN secret_hex TO secret_sealed;
ALTER TABLE token_keys RENAME COLUMN secret_hex TO secret_sealed;
ALTER TABLE tenants RENAME COLUMN webhook_secret TO webhook_secret_sealed;

-- Which master key seals this database, and other facts about the database itself.
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- API keys get an id (to list and revoke them by), the last characters of the key (to tell
-- them apart), and a revocation time.
ALTER TABLE api_keys ADD COLUMN id TEXT;
ALTER TABLE api_keys ADD COLUMN hint TEXT;
ALTER TABLE api_keys ADD COLUMN revoked_at BIGINT;
UPDATE api_keys SET id = 'key_' || substr(hash, 1, 32) WHERE id IS NULL;
CREATE UNIQUE INDEX api_keys_id ON api_keys (id);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);

-- x402's payment identifier is kept with the payment it settled, scoped by payer: the payment
-- row is the durable idempotency record, written in the settlement transaction itself, so a
-- settlement can never be committed while its identifier is not (or the reverse).
ALTER TABLE payments ADD COLUMN payment_identifier TEXT;
ALTER TABLE payments ADD COLUMN terms_fingerprint TEXT;
CREATE UNIQUE INDEX payments_identifier ON payments (network, payer, payment_identifier);

-- Deposits, one row each: a retried deposit whose first attempt committed finds its row (its
-- id derives from the idempotency key) instead of depositing again.
CREATE TABLE deposits (
    id         TEXT PRIMARY KEY,
    wallet_id  TEXT NOT NULL REFERENCES wallets (id),
    asset      TEXT NOT NULL,
    amount     BIGINT NOT NULL CHECK (amount > 0),
    created_at BIGINT NOT NULL
);
CREATE INDEX deposits_wallet ON deposits (wallet_id, created_at);
