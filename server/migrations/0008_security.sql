-- Each idempotency record's generation: objects a request creates take ids derived from its
-- scope, key and generation. A retry of a request that died finds the same record and so the
-- same ids; a key used again once its record expired (or was swept) starts a new generation,
-- so it never answers with an object an earlier request created. NULL for records made
-- before this column (their ids were derived without one).
ALTER TABLE idempotency_keys ADD COLUMN generation TEXT;

-- An event that must be queued once for what it is about (a refused payment: once per
-- (network, payer, nonce), however often the payment is sent again) carries a once-key;
-- a second insert with the same key for the same tenant is dropped.
ALTER TABLE webhook_outbox ADD COLUMN once_key TEXT;
CREATE UNIQUE INDEX webhook_outbox_once ON webhook_outbox (tenant_id, once_key) WHERE once_key IS NOT NULL;

-- The webhook sender counts each endpoint's attempts in flight when it claims: pending events
-- by tenant and lease, a small set however long a tenant's history grows.
CREATE INDEX webhook_outbox_in_flight ON webhook_outbox (tenant_id, lease_until) WHERE status = 'pending';
