-- Search keywords a seller gives a product: listing data, outside the signed record.
ALTER TABLE products ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
