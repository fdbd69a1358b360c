-- Settlement on EVM chains: one attempt per authorization (network, payer, nonce) — the token
-- contract's own once-only key — recorded before anything is broadcast, so a payment is
-- submitted at most once and a crash or a lost receipt leaves a row the reconciler resolves.
CREATE TABLE chain_attempts (
    id            TEXT PRIMARY KEY,           -- pay_…: the payment it settles as
    network       TEXT NOT NULL,
    payer         TEXT NOT NULL,              -- checksummed authorization.from
    nonce         TEXT NOT NULL,              -- 0x + 64 hex digits, lower case
    fingerprint   TEXT NOT NULL,              -- the request's fingerprint
    request       TEXT NOT NULL,              -- the facilitator request, to submit again
    status        TEXT NOT NULL CHECK (status IN ('submitting', 'submitted', 'settled', 'failed')),
    tx_hash       TEXT,
    raw_tx        TEXT,                       -- the signed transaction, to broadcast again
    signer_nonce  BIGINT,
    error_reason  TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (network, payer, nonce)
);
CREATE INDEX chain_attempts_open ON chain_attempts (status, updated_at);

-- Every transaction signed for an attempt: the first, and each fee-bumped replacement (same
-- signer nonce, higher fees). Whichever is mined concludes the attempt.
CREATE TABLE chain_transactions (
    hash        TEXT PRIMARY KEY,
    attempt_id  TEXT NOT NULL REFERENCES chain_attempts (id) ON DELETE CASCADE,
    raw_tx      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX chain_transactions_attempt ON chain_transactions (attempt_id, created_at);
