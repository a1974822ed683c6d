DROP TABLE product_views;
