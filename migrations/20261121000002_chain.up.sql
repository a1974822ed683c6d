-- The anchoring outbox (truffle.anchor/1): content hashes in, Merkle proofs and chain positions out.
-- Generic: it knows hashes, not products.

CREATE TABLE anchor_batches (
    id            bigserial PRIMARY KEY,
    root          bytea NOT NULL UNIQUE,
    leaf_count    integer NOT NULL,
    -- built: root computed, nothing sent; sent: transaction sent; mined: the Anchored event is in
    -- block_number; confirmed: enough blocks on top.
    status        text NOT NULL CHECK (status IN ('built', 'sent', 'mined', 'confirmed')),
    tx_hash       bytea,
    block_number  bigint,
    block_time    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    confirmed_at  timestamptz
);
CREATE INDEX anchor_batches_open ON anchor_batches (id) WHERE status <> 'confirmed';

CREATE TABLE anchor_items (
    hash         bytea PRIMARY KEY,
    enqueued_at  timestamptz NOT NULL DEFAULT now(),
    batch_id     bigint REFERENCES anchor_batches (id),
    leaf         bytea,
    -- Sibling hashes from the leaf up, 32 bytes each, concatenated.
    proof        bytea
);
CREATE INDEX anchor_items_waiting ON anchor_items (enqueued_at) WHERE batch_id IS NULL;
CREATE INDEX anchor_items_by_batch ON anchor_items (batch_id);

CREATE TABLE chain_revocations (
    hash          bytea PRIMARY KEY,
    status        text NOT NULL CHECK (status IN ('pending', 'sent', 'mined', 'confirmed')),
    tx_hash       bytea,
    block_number  bigint,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    confirmed_at  timestamptz
);
CREATE INDEX chain_revocations_open ON chain_revocations (requested_at) WHERE status <> 'confirmed';
