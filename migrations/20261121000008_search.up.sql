-- The search index's change feed. Search is a projection of the catalogue, the raffles and the
-- anchoring outbox; triggers on their tables write here, so no writer can forget to. Each
-- replica's index applies the feed in transaction-id order and records, in its own commit, the
-- horizon below which every transaction has ended (see docs/SEARCH.md).

CREATE TABLE search_feed (
    id          bigserial PRIMARY KEY,
    product_id  uuid NOT NULL,
    -- The writing transaction's id (xid8 as bigint).
    xid         bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX search_feed_by_xid ON search_feed (xid);
CREATE INDEX search_feed_by_at ON search_feed (at);

CREATE FUNCTION search_feed_product() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_feed (product_id) VALUES (NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION search_feed_raffle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_feed (product_id) VALUES (NEW.product_id);
    RETURN NULL;
END $$;

-- A batch reaching the chain makes its products verified.
CREATE FUNCTION search_feed_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_feed (product_id)
        SELECT DISTINCT r.product_id
        FROM anchor_items i JOIN product_records r ON r.content_hash = i.hash
        WHERE i.batch_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER products_to_search AFTER INSERT OR UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION search_feed_product();
CREATE TRIGGER raffles_to_search AFTER INSERT OR UPDATE OF stage, opens_at, closes_at ON raffles
    FOR EACH ROW EXECUTE FUNCTION search_feed_raffle();
CREATE TRIGGER batches_to_search AFTER UPDATE OF status ON anchor_batches
    FOR EACH ROW WHEN (NEW.status IN ('mined', 'confirmed') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION search_feed_batch();
