-- Recommendations: product pages a logged-in buyer opened, one row per buyer, product and day
-- (a weak signal beside purchases and raffle entries, which their own domains keep).

CREATE TABLE product_views (
    user_id     uuid NOT NULL REFERENCES users (id),
    product_id  uuid NOT NULL REFERENCES products (id),
    viewed_on   date NOT NULL,
    PRIMARY KEY (user_id, product_id, viewed_on)
);
CREATE INDEX product_views_by_day ON product_views (viewed_on);
