DROP TABLE ad_click_dedup;
DROP TABLE ad_daily_stats;
DROP TABLE ad_campaigns;
