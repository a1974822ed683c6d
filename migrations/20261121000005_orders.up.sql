-- Orders for raffle winners, their payments, and the in-app notification inbox.

CREATE TABLE orders (
    id                uuid PRIMARY KEY,
    raffle_id         uuid NOT NULL REFERENCES raffles (id),
    entry_id          uuid NOT NULL REFERENCES entries (id),
    buyer_id          uuid NOT NULL REFERENCES users (id),
    seller_id         uuid NOT NULL REFERENCES users (id),
    product_id        uuid NOT NULL REFERENCES products (id),
    amount_krw        bigint NOT NULL CHECK (amount_krw >= 0),
    -- awaiting_payment → paid → shipped → received; or expired (not paid in time: the next
    -- alternate gets an order), refunded (before shipping), cancelled (by an admin, unpaid).
    status            text NOT NULL CHECK (status IN ('awaiting_payment', 'paid', 'shipped', 'received',
                          'expired', 'refunded', 'cancelled')),
    pay_by            timestamptz NOT NULL,
    payment_provider  text,
    payment_key       text UNIQUE,
    -- The delivery address when the order was paid: what the seller ships to.
    delivery_address  jsonb,
    carrier           text,
    tracking_number   text,
    due_notified      boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    paid_at           timestamptz,
    shipped_at        timestamptz,
    received_at       timestamptz,
    closed_at         timestamptz
);
CREATE UNIQUE INDEX orders_one_per_entry ON orders (entry_id);
CREATE INDEX orders_by_buyer ON orders (buyer_id, id);
CREATE INDEX orders_awaiting ON orders (pay_by) WHERE status = 'awaiting_payment';

CREATE TABLE notifications (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    -- won, not_won, payment_due_soon, payment_confirmed, raffle_cancelled, order_expired, refunded
    kind        text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz
);
CREATE INDEX notifications_by_user ON notifications (user_id, id);
