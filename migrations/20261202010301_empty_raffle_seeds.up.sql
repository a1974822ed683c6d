-- The draw worker publishes the seed of every empty raffle (closed with no entries); this finds the
-- few recorded before it did, on every pass, without reading the whole table.
CREATE INDEX raffles_empty_unpublished ON raffles (id) WHERE stage = 'empty' AND seed IS NULL;
