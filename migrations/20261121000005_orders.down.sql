DROP TABLE notifications;
DROP TABLE orders;
