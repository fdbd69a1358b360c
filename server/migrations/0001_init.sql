-- Portable between SQLite and PostgreSQL: TEXT ids chosen by the server, BIGINT atomic
-- amounts and unix-second times, no floats anywhere.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('provider', 'agent')),
    name        TEXT NOT NULL,
    evm_address TEXT UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    hash       TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Agent wallets (ledger, HMAC secret), provider payout wallets, the platform's fee wallet,
-- and devnet EVM addresses funded by the operator.
CREATE TABLE wallets (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT REFERENCES tenants (id),
    kind       TEXT NOT NULL CHECK (kind IN ('agent', 'provider', 'platform', 'evm')),
    address    TEXT UNIQUE,
    secret_hex TEXT,
    policy     TEXT,
    usage      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE balances (
    wallet_id TEXT NOT NULL REFERENCES wallets (id),
    asset     TEXT NOT NULL,
    amount    BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (wallet_id, asset)
);

-- Double entry: the postings of one entry sum to zero.
CREATE TABLE journal (
    id         TEXT PRIMARY KEY,
    entry_id   TEXT NOT NULL,
    wallet_id  TEXT NOT NULL REFERENCES wallets (id),
    asset      TEXT NOT NULL,
    amount     BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX journal_entry ON journal (entry_id);
CREATE INDEX journal_wallet ON journal (wallet_id, created_at);

-- One row per settled authorization; (network, payer, nonce) is EIP-3009's once-only key.
CREATE TABLE payments (
    id            TEXT PRIMARY KEY,
    network       TEXT NOT NULL,
    payer         TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    payer_wallet  TEXT NOT NULL REFERENCES wallets (id),
    payee_wallet  TEXT NOT NULL REFERENCES wallets (id),
    provider_id   TEXT REFERENCES tenants (id),
    asset         TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    fee           BIGINT NOT NULL,
    net           BIGINT NOT NULL,
    fingerprint   TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (network, payer, nonce)
);
CREATE INDEX payments_provider ON payments (provider_id, created_at);
CREATE INDEX payments_payer ON payments (payer_wallet, created_at);

CREATE TABLE idempotency_keys (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
    status      INTEGER,
    body        TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE webhook_outbox (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    event        TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT
);

-- Hashes of operator (admin) keys.
CREATE TABLE operator_keys (
    hash       TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
