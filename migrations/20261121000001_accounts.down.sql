DROP TABLE rate_limits;
DROP TABLE seller_applications;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE identity_verifications;
DROP TABLE withdrawn_persons;
DROP TABLE users;
