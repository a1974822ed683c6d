-- The newest block the anchoring worker has seen, so that reads can show confirmations without
-- asking the chain.
CREATE TABLE chain_head (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    block_number  bigint NOT NULL,
    seen_at       timestamptz NOT NULL DEFAULT now()
);
