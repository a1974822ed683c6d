-- Deleting a seller's account: it is refused while orders are under way (this index answers that
-- for one seller), and otherwise delists every product of the seller.
CREATE INDEX orders_open_by_seller ON orders (seller_id) WHERE status IN ('awaiting_payment', 'paid');

-- Sellers deleted before that rule left their products listed: delist them now, as of the
-- deletion (the search index drops them through its feed).
UPDATE products p SET listed = false, delisted_at = u.deleted_at, updated_at = now()
FROM users u
WHERE u.id = p.seller_id AND u.status = 'deleted' AND p.listed;
