DROP TRIGGER batches_to_search ON anchor_batches;
DROP TRIGGER raffles_to_search ON raffles;
DROP TRIGGER products_to_search ON products;
DROP FUNCTION search_feed_batch();
DROP FUNCTION search_feed_raffle();
DROP FUNCTION search_feed_product();
DROP TABLE search_feed;
