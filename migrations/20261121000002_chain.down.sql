DROP TABLE chain_revocations;
DROP TABLE anchor_items;
DROP TABLE anchor_batches;
