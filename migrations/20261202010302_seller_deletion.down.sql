-- Products delisted by a seller's account deletion carry the deletion's time (the same
-- transaction); those a seller delisted earlier do not.
UPDATE products p SET listed = true, delisted_at = NULL, updated_at = now()
FROM users u
WHERE u.id = p.seller_id AND u.status = 'deleted' AND NOT p.listed AND p.delisted_at = u.deleted_at;

DROP INDEX orders_open_by_seller;
