-- Operations: webhook delivery state on the outbox (each row is one event), every delivery
-- attempt recorded, and an endpoint's failure count and disabling.

-- none: the tenant had no webhook endpoint when the event happened (listed, never sent);
-- pending: to be sent at next_attempt_at (unix ms); delivered; failed: given up on.
ALTER TABLE webhook_outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE webhook_outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
-- A sender holds the event until lease_until (unix ms); another sender skips it until then.
ALTER TABLE webhook_outbox ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhook_outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE webhook_outbox ADD COLUMN last_status_code BIGINT;
ALTER TABLE webhook_outbox ADD COLUMN last_error TEXT;
CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at);
CREATE INDEX webhook_outbox_tenant ON webhook_outbox (tenant_id, created_at);

CREATE TABLE webhook_attempts (
    id          TEXT PRIMARY KEY,
    event_id    TEXT NOT NULL REFERENCES webhook_outbox (id),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    attempt     BIGINT NOT NULL,
    url         TEXT NOT NULL,
    status_code BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (event_id, attempt)
);
CREATE INDEX webhook_attempts_tenant ON webhook_attempts (tenant_id, created_at);

-- An endpoint can be disabled: it is no longer priced (its route is then free or unknown).
ALTER TABLE endpoints ADD COLUMN disabled_at BIGINT;

-- What a payment paid for (the x402 resource URL), for revenue by endpoint.
ALTER TABLE payments ADD COLUMN resource TEXT;
CREATE INDEX journal_kind_wallet ON journal (wallet_id, kind, created_at);

-- Consecutive failed attempts across the endpoint's events; reset by a success.
ALTER TABLE tenants ADD COLUMN webhook_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN webhook_disabled_at BIGINT;

-- Events from before: those of tenants without an endpoint are never sent, those marked
-- delivered stay delivered.
UPDATE webhook_outbox SET status = 'delivered' WHERE delivered_at IS NOT NULL;
UPDATE webhook_outbox SET status = 'none'
    WHERE delivered_at IS NULL AND tenant_id IN (SELECT id FROM tenants WHERE webhook_url IS NULL);
