-- Who holds each unit (truffle.transfer/1), offers to hand a unit on, and lost or stolen
-- reports.

ALTER TABLE units
    ADD COLUMN owner_id     uuid REFERENCES users (id),
    -- The order the unit was shipped for: one unit per order, one order per unit.
    ADD COLUMN order_id     uuid UNIQUE REFERENCES orders (id),
    -- An open report by its owner: 'lost' or 'stolen'.
    ADD COLUMN report_kind  text CHECK (report_kind IN ('lost', 'stolen')),
    ADD COLUMN reported_at  timestamptz,
    ADD CONSTRAINT units_report_whole CHECK ((report_kind IS NULL) = (reported_at IS NULL));
CREATE INDEX units_by_owner ON units (owner_id) WHERE owner_id IS NOT NULL;

-- Each change of hands, as signed: sequence 1 is the first owner. The primary key keeps one
-- history per unit: two records can never claim the same place in it.
CREATE TABLE unit_transfers (
    code           text NOT NULL REFERENCES units (code),
    sequence       integer NOT NULL CHECK (sequence > 0),
    -- sha256 of `canonical`: what the anchoring outbox anchors.
    transfer_hash  bytea NOT NULL UNIQUE,
    canonical      bytea NOT NULL,
    signer         bytea NOT NULL,
    signature      bytea NOT NULL,
    from_user      uuid REFERENCES users (id),
    to_user        uuid NOT NULL REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, sequence)
);

-- An owner's offer to hand a unit to another account, which accepts or declines it.
CREATE TABLE unit_offers (
    id          uuid PRIMARY KEY,
    code        text NOT NULL REFERENCES units (code),
    from_user   uuid NOT NULL REFERENCES users (id),
    to_user     uuid NOT NULL REFERENCES users (id),
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    decided_at  timestamptz,
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
-- At most one open offer per unit.
CREATE UNIQUE INDEX unit_offers_one_pending ON unit_offers (code) WHERE status = 'pending';
CREATE INDEX unit_offers_to ON unit_offers (to_user, created_at DESC);
CREATE INDEX unit_offers_from ON unit_offers (from_user, created_at DESC);
