-- Payments that fail closed.
--
-- `refunding`: a refund was asked of the provider and has not come back yet (paid before it).
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
    ('awaiting_payment', 'paid', 'shipped', 'received', 'expired', 'refunding', 'refunded', 'cancelled'));

-- A confirm in flight claims the order for a short while, without holding a row lock across the
-- provider call: the expiry pass leaves a claimed order alone until the claim lapses, and the
-- payment it confirms counts if it began before the deadline (one rule, `orders::deadline`).
ALTER TABLE orders ADD COLUMN paying_key text;
ALTER TABLE orders ADD COLUMN paying_until timestamptz;
-- What the provider has given back (a partial cancellation made at the provider's console).
ALTER TABLE orders ADD COLUMN refunded_amount_krw bigint NOT NULL DEFAULT 0;
-- Why an admin must look at this order (`partial_cancel`, `refund_failed`, `revoked_after_shipping`,
-- `cancelled_after_shipping`, `paid_without_address`); NULL when nothing is wrong.
ALTER TABLE orders ADD COLUMN attention text;
ALTER TABLE orders ADD COLUMN attention_at timestamptz;
CREATE INDEX orders_needing_attention ON orders (attention_at) WHERE attention IS NOT NULL;
-- The seller's list of sales.
CREATE INDEX orders_by_seller ON orders (seller_id, id);

-- Refunds asked of the payment provider: written in the transaction that decides them, sent after
-- it commits (no lock is held across the call), retried by the order clock until the provider
-- answers. One per payment key, so a payment is never refunded twice; the idempotency key is
-- `refund-{id}`.
CREATE TABLE provider_refunds (
    id            uuid PRIMARY KEY,
    order_id      uuid NOT NULL REFERENCES orders (id),
    payment_key   text NOT NULL UNIQUE,
    amount_krw    bigint NOT NULL CHECK (amount_krw >= 0),
    reason        text NOT NULL,
    -- `refund`: the order's own payment goes back (the order ends `refunded`);
    -- `late_payment`: a payment that came too late or twice, never counted for the order.
    kind          text NOT NULL CHECK (kind IN ('refund', 'late_payment')),
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    next_try_at   timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    done_at       timestamptz
);
CREATE INDEX provider_refunds_pending ON provider_refunds (next_try_at) WHERE status = 'pending';
CREATE INDEX provider_refunds_by_order ON provider_refunds (order_id);
