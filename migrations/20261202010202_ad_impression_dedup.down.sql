DROP TABLE ad_impression_dedup;
