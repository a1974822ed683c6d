//! Production mode: the service refuses to start on anything that would fail open.

use std::collections::HashMap;
use std::sync::Arc;

use truffle::app::{AppState, Providers};
use truffle::config::Config;
use truffle::providers::identity::DevIdentityVerifier;
use truffle::providers::payments::DevPayments;

/// `.env.example`, as the run command copies it to `.env`.
fn example_env() -> Vec<(String, String)> {
    include_str!("../../.env.example")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// A production environment with settings of its own (no published secret, real providers).
fn production_env() -> HashMap<String, String> {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    [
        ("TRUFFLE_ENV", "production".to_owned()),
        ("DATABASE_URL", "postgres:///nowhere".to_owned()),
        ("JWT_KEYS", format!("k1={}", b64(&[3u8; 32]))),
        ("PERSON_KEY_SECRET", b64(&[4u8; 32])),
        ("CUSTODY_MASTER_KEY", b64(&[6u8; 32])),
        ("IDENTITY_PROVIDER", "portone".to_owned()),
        (
            "PORTONE_API_SECRET",
            "portone-secret-0123456789abcdef".to_owned(),
        ),
        ("PORTONE_CHANNEL_KEY", "channel-key-1".to_owned()),
        ("PAYMENT_PROVIDER", "toss".to_owned()),
        ("TOSS_SECRET_KEY", "live_sk_0123456789abcdefghij".to_owned()),
        ("CHAIN_ID", "8453".to_owned()),
        ("CHAIN_RPC_URL", "http://127.0.0.1:9".to_owned()),
        (
            "CHAIN_REGISTRY_ADDRESS",
            "0x5FbDB2315678afecb367f032d93F642f64180aa3".to_owned(),
        ),
        (
            "ANCHOR_PRIVATE_KEY",
            "0x2222222222222222222222222222222222222222222222222222222222222222".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `truffle serve` in an empty directory (no `.env` to read) with exactly `env`.
fn serve_with(env: impl IntoIterator<Item = (String, String)>) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_truffle"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .output()
        .expect("the truffle binary runs")
}

#[tokio::test]
async fn production_refuses_the_example_configuration_and_says_every_reason() {
    let mut env = example_env();
    for (k, v) in &mut env {
        if k == "TRUFFLE_ENV" {
            *v = "production".into();
        }
    }
    let out = serve_with(env.clone());
    assert_eq!(out.status.code(), Some(2), "it must not start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for reason in [
        "IDENTITY_PROVIDER=dev",
        "PAYMENT_PROVIDER=dev",
        "CHAIN_RPC_URL is not set",
        "CHAIN_ID is 31337",
        "JWT_KEYS[dev1] is a published value",
        "PERSON_KEY_SECRET is a published value",
        "CUSTODY_MASTER_KEY is a published value",
        "ANCHOR_PRIVATE_KEY is a published value",
        "KAKAO_SKILL_SECRET is a published value",
    ] {
        assert!(stderr.contains(reason), "{reason} missing from:\n{stderr}");
    }
    for (name, value) in &env {
        if name.ends_with("_SECRET") || name.ends_with("_KEY") || name == "JWT_KEYS" {
            assert!(
                value.len() < 8 || !stderr.contains(value.as_str()),
                "{name} was printed"
            );
        }
    }
}

#[tokio::test]
async fn a_start_without_a_mode_or_providers_is_refused_not_defaulted() {
    let env: Vec<(String, String)> = example_env()
        .into_iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "TRUFFLE_ENV" | "IDENTITY_PROVIDER" | "PAYMENT_PROVIDER"
            )
        })
        .collect();
    let out = serve_with(env);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in ["TRUFFLE_ENV", "IDENTITY_PROVIDER", "PAYMENT_PROVIDER"] {
        assert!(
            stderr.contains(&format!("{name} is not set")),
            "{name}:\n{stderr}"
        );
    }
}

#[tokio::test]
async fn production_refuses_dev_providers_handed_in_by_code() {
    let config = Config::from_env_map(&production_env()).expect("a valid production config");
    let dev = Arc::new(DevIdentityVerifier::new());
    let err = AppState::start(
        config,
        Providers {
            identity: dev,
            payments: Arc::new(DevPayments::new()),
        },
    )
    .await
    .err()
    .expect("production must not start on dev providers");
    let text = format!("{err:#}");
    assert!(text.contains("dev identity"), "{text}");
    assert!(text.contains("dev payments"), "{text}");
}

#[tokio::test]
async fn demo_commands_refuse_production() {
    for args in [
        vec!["serve", "--demo"],
        vec!["seed-demo"],
        vec!["devnet-setup"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_truffle"))
            .args(&args)
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(production_env())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} ran in production");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("development only"), "{args:?}: {stderr}");
    }
}
