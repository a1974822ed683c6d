-- Raffles (truffle.draw/1) and their entries.

CREATE TABLE raffles (
    id                    uuid PRIMARY KEY,
    product_id            uuid NOT NULL REFERENCES products (id),
    -- The product record version the raffle is for (its content hash is committed on chain).
    product_content_hash  bytea NOT NULL,
    seller_id             uuid NOT NULL REFERENCES users (id),
    price_krw             bigint NOT NULL CHECK (price_krw >= 0),
    winners               integer NOT NULL CHECK (winners > 0),
    opens_at              timestamptz NOT NULL,
    closes_at             timestamptz NOT NULL CHECK (closes_at > opens_at),
    payment_window_secs   integer NOT NULL CHECK (payment_window_secs > 0),
    -- Where the raffle is in its life: committing (commit not on chain yet), committed, closing
    -- (ticket list frozen, close sent), closed (close mined), drawn, settled, and the ends
    -- cancelled, void (reveal missed its window) and empty (closed with no tickets).
    stage                 text NOT NULL CHECK (stage IN ('committing', 'committed', 'closing', 'closed',
                              'drawn', 'settled', 'cancelled', 'void', 'empty')),
    -- The secret seed, sealed under the master key until it is revealed on chain.
    seed_sealed           bytea NOT NULL,
    seed_hash             bytea NOT NULL,
    seed                  bytea,
    commit_tx             bytea,
    commit_sent_at        timestamptz,
    ticket_root           bytea,
    ticket_count          integer,
    close_tx              bytea,
    close_block           bigint,
    close_sent_at         timestamptz,
    reveal_tx             bytea,
    reveal_sent_at        timestamptz,
    block_hash            bytea,
    randomness            bytea,
    void_tx               bytea,
    cancel_tx             bytea,
    cancel_reason         text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    drawn_at              timestamptz
);
CREATE INDEX raffles_by_product ON raffles (product_id);
CREATE INDEX raffles_working ON raffles (closes_at) WHERE stage IN ('committing', 'committed', 'closing', 'closed');

CREATE TABLE entries (
    id            uuid PRIMARY KEY,
    raffle_id     uuid NOT NULL REFERENCES raffles (id),
    user_id       uuid NOT NULL REFERENCES users (id),
    ticket        bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    withdrawn_at  timestamptz,
    -- After the draw: the ticket's place in the draw order (0 first), and what it means.
    position      integer,
    outcome       text CHECK (outcome IN ('won', 'alternate', 'lost'))
);
-- One person, one entry per raffle (one person has one account).
CREATE UNIQUE INDEX entries_one_per_person ON entries (raffle_id, user_id) WHERE withdrawn_at IS NULL;
CREATE INDEX entries_by_user ON entries (user_id, created_at);
CREATE INDEX entries_live_tickets ON entries (raffle_id, ticket) WHERE withdrawn_at IS NULL;
