-- Each idempotency record's generation: objects a request creates take ids derived from its
-- scope, key and generation. A retry of a request that died finds the same record and so the
-- same ids; a key used again once its record expired (or was swept) starts a new generation,
-- so it never answers with an object an earlier request created. NULL for records made
-- before this column (their ids were derived without one).
ALTER TABLE idempotency_keys ADD COLUMN generation TEXT;
