-- Payouts: a provider moves (part of) its balance out. The amount leaves its wallet for the
-- payouts clearing wallet when the payout is created (pending); it leaves the ledger when the
-- payout is paid, and goes back to the provider when it failed.
CREATE TABLE payouts (
    id             TEXT PRIMARY KEY,
    provider_id    TEXT NOT NULL REFERENCES tenants (id),
    wallet_id      TEXT NOT NULL REFERENCES wallets (id),
    asset          TEXT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
    failure_reason TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX payouts_provider ON payouts (provider_id, created_at);
