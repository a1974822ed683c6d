DROP TABLE provider_refunds;
DROP INDEX orders_by_seller;
DROP INDEX orders_needing_attention;
ALTER TABLE orders DROP COLUMN attention_at;
ALTER TABLE orders DROP COLUMN attention;
ALTER TABLE orders DROP COLUMN refunded_amount_krw;
ALTER TABLE orders DROP COLUMN paying_until;
ALTER TABLE orders DROP COLUMN paying_key;
UPDATE orders SET status = 'paid' WHERE status = 'refunding';
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
    ('awaiting_payment', 'paid', 'shipped', 'received', 'expired', 'refunded', 'cancelled'));
