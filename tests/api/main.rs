//! Integration tests against real PostgreSQL: one binary, one database per test.

mod helpers;

mod accounts_abuse;
mod accounts_auth;
mod accounts_identity;
mod accounts_me;
mod accounts_sellers;
mod ads;
mod anchoring;
mod catalogue;
mod chat;
mod input;
mod kakao;
mod openapi_fuzz;
mod operations;
mod orders;
mod owners;
mod page;
mod payments;
mod portone;
mod production;
mod raffles;
mod recommend;
mod search;
mod units;
