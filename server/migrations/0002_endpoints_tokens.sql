-- Providers' priced endpoints: the core's price rule, and optionally a bundle that settlement
-- turns into an access token (pay once, use N times or until T).
CREATE TABLE endpoints (
    id          TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES tenants (id),
    rule        TEXT NOT NULL,
    bundle      TEXT,
    position    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX endpoints_provider ON endpoints (provider_id, position);

-- Access tokens: only their hash is kept; uses are counted by claims id (attenuated copies of a
-- token share its id and its count).
CREATE TABLE access_tokens (
    id          TEXT PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    provider_id TEXT NOT NULL REFERENCES tenants (id),
    payment_id  TEXT NOT NULL UNIQUE REFERENCES payments (id),
    claims      TEXT NOT NULL,
    max_uses    BIGINT,
    uses        BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);

CREATE TABLE token_keys (
    kid        TEXT PRIMARY KEY,
    secret_hex TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

ALTER TABLE tenants ADD COLUMN webhook_url TEXT;
ALTER TABLE tenants ADD COLUMN webhook_secret TEXT;
