-- Throughput: a payment without a payment identifier (most of them) no longer writes an
-- entry to the identifier's unique index; the index enforces the same once-only rule on the
-- rows that have one. Each index entry a settlement writes is a page to write at commit.
DROP INDEX payments_identifier;
CREATE UNIQUE INDEX payments_identifier ON payments (network, payer, payment_identifier)
    WHERE payment_identifier IS NOT NULL;
