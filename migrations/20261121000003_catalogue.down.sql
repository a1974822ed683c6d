DROP TABLE product_records;
DROP TABLE products;
DROP TABLE sellers;
