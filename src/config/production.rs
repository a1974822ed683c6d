//! What production refuses: development providers, published or devnet secrets in any encoding,
//! Toss test keys, short secrets, no chain, the devnet chain id.

use std::collections::HashMap;

use super::read::decode_base64;

/// Shortest API secret accepted from a payment or identity provider's console.
pub(super) const MIN_PROVIDER_SECRET: usize = 16;

/// The example configuration, whose secrets anyone who reads the repository knows.
pub(super) const EXAMPLE_ENV: &str = include_str!("../../.env.example");

/// anvil's (and Hardhat's) default accounts: their private keys are printed by every devnet.
const DEVNET_KEYS: [&str; 10] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// The secrets production checks against the published values.
pub(super) const SECRETS: [&str; 6] = [
    "PERSON_KEY_SECRET",
    "CUSTODY_MASTER_KEY",
    "ANCHOR_PRIVATE_KEY",
    "KAKAO_SKILL_SECRET",
    "PORTONE_API_SECRET",
    "TOSS_SECRET_KEY",
];

/// The ways one secret may be written (as is, base64, hex), as bytes, so that a published key
/// re-encoded is still recognised. Short forms are left out: they are refused as too short anyway.
fn secret_forms(value: &str) -> Vec<Vec<u8>> {
    let value = value.trim();
    let mut forms = vec![value.as_bytes().to_vec()];
    forms.extend(decode_base64(value));
    forms.extend(hex::decode(value.trim_start_matches("0x").to_ascii_lowercase()).ok());
    forms.retain(|f| f.len() >= MIN_PROVIDER_SECRET);
    forms
}

/// Every value printed in `.env.example` (commented-out ones too, and each secret of a
/// `KID=SECRET` list), and the devnet's well-known keys, in all their forms.
fn published_secrets() -> std::collections::HashSet<Vec<u8>> {
    let mut values: Vec<&str> = DEVNET_KEYS.to_vec();
    for line in EXAMPLE_ENV.lines() {
        let line = line.trim_start_matches('#').trim();
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            continue;
        }
        values.push(value);
        for item in value.split(',') {
            if let Some((_, secret)) = item.split_once('=') {
                values.push(secret);
            }
        }
    }
    values.into_iter().flat_map(secret_forms).collect()
}

/// What would make a start unsafe for real people: each a sentence naming its variable. In
/// production every one is an error; in development each is logged as a warning.
pub fn production_problems(env: &HashMap<String, String>) -> Vec<String> {
    let raw = |name: &str| env.get(name).map(|s| s.trim()).filter(|s| !s.is_empty());
    let mut problems = Vec::new();
    if raw("IDENTITY_PROVIDER") == Some("dev") {
        problems.push(
            "IDENTITY_PROVIDER=dev verifies nobody (codes go to the log): use `portone`".to_owned(),
        );
    }
    match raw("PAYMENT_PROVIDER") {
        Some("dev") => problems.push(
            "PAYMENT_PROVIDER=dev confirms payments that move no money: use `toss`".to_owned(),
        ),
        Some("toss") if raw("TOSS_SECRET_KEY").is_some_and(|k| k.starts_with("test_")) => problems
            .push(
            "TOSS_SECRET_KEY is a test key (test_…): test payments move no money; use a live key"
                .to_owned(),
        ),
        _ => {}
    }
    if raw("CHAIN_RPC_URL").is_none() {
        problems.push(
            "CHAIN_RPC_URL is not set: nothing would be anchored and no raffle drawn".to_owned(),
        );
    }
    if raw("CHAIN_ID").unwrap_or("31337") == "31337" {
        problems.push("CHAIN_ID is 31337, the local anvil devnet".to_owned());
    }
    let published = published_secrets();
    let is_published = |value: &str| secret_forms(value).iter().any(|f| published.contains(f));
    for name in SECRETS {
        if raw(name).is_some_and(is_published) {
            problems.push(format!(
                "{name} is a published value (from .env.example or a devnet): make your own"
            ));
        }
    }
    if let Some(list) = raw("JWT_KEYS") {
        for item in list.split(',') {
            if let Some((kid, secret)) = item.split_once('=')
                && is_published(secret)
            {
                problems.push(format!(
                    "JWT_KEYS[{}] is a published value (from .env.example): make your own",
                    kid.trim()
                ));
            }
        }
    }
    problems
}
