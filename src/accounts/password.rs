//! Password hashing (argon2id, OWASP's parameters) and the password policy.
//! Hashing runs on the CPU pool: it costs tens of milliseconds by design.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};

use crate::cpu::{self, CpuPool, Overloaded};

/// OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checked when an account does not exist, so that a wrong email costs as long as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("truffle-dummy-password").expect("dummy hash"));

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(argon2().hash_password(password.as_bytes())?.to_string())
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Hashes on the process-wide pool, waiting its turn: the CLI, the demo data and benchmarks.
pub async fn hash(password: String) -> anyhow::Result<String> {
    cpu::run(move || hash_blocking(&password))
        .await
        .map_err(|e| anyhow::anyhow!("argon2 hash: {e}"))
}

/// Hashes for a request on the app's pool: `503 overloaded` when its queue is full.
pub async fn hash_on(pool: &CpuPool, password: String) -> Result<String, super::Error> {
    pool.run(move || hash_blocking(&password))
        .await?
        .map_err(|e| super::Error::Hash(e.to_string()))
}

/// Verifies `password` against `phc`, or against a dummy hash when there is no account, for a
/// request on the app's pool: both cost the same, and both are refused alike when it is full.
pub async fn verify_on(
    pool: &CpuPool,
    password: String,
    phc: Option<String>,
) -> Result<bool, Overloaded> {
    pool.run(move || match phc {
        Some(phc) => verify_blocking(&password, &phc),
        None => {
            verify_blocking(&password, &DUMMY_HASH);
            false
        }
    })
    .await
}

const COMMON: &[&str] = &[
    "password",
    "password1",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty123",
    "qwertyuiop",
    "11111111",
    "00000000",
    "iloveyou",
    "abcd1234",
    "a1234567",
    "qwer1234",
    "asdf1234",
];

/// The password policy as the OpenAPI document states it: 8 to 128 characters, not one
/// character repeated, not a well-known password in any case, and the text rule. (That it is not
/// the account's email is the one part a schema cannot say.)
pub fn policy_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let common: Vec<String> = COMMON
        .iter()
        .map(|w| {
            w.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    let pattern = format!(
        "^(?!(.)\\1*$)(?!(?:{})$){}*$",
        common.join("|"),
        crate::http::text::allowed_class(false)
    );
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "8 to 128 characters; not one character repeated, not a well-known password, not \
             the account's email.",
        ))
        .min_length(Some(8))
        .max_length(Some(128))
        .pattern(Some(pattern))
        .build()
}

/// The password policy: 8 to 128 characters, not a well-known password, not the email.
pub fn check_policy(password: &str, email: Option<&str>) -> Result<(), &'static str> {
    let len = password.chars().count();
    if len < 8 {
        return Err("must be at least 8 characters");
    }
    if len > 128 {
        return Err("must be at most 128 characters");
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err("is too common");
    }
    if let Some(email) = email
        && (lower == email.to_lowercase() || Some(lower.as_str()) == email.split('@').next())
    {
        return Err("must not be your email");
    }
    if password.chars().all(|c| password.starts_with(c)) {
        return Err("must not repeat one character");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let phc = hash_blocking("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking("correct horse battery", &phc));
        assert!(!verify_blocking("correct horse batterx", &phc));
        assert!(!verify_blocking("anything", "not a phc string"));
    }

    #[test]
    fn the_documented_pattern_is_the_policy() {
        // Rust's regex has no look-around; check the pattern's parts as they are assembled.
        let schema = policy_schema();
        let pattern = schema.pattern.unwrap();
        assert!(
            pattern.starts_with("^(?!(.)\\1*$)(?!(?:[pP][aA][sS][sS]"),
            "{pattern}"
        );
        for word in COMMON {
            let spelled: String = word
                .chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            assert!(pattern.contains(&spelled), "{word}");
            assert!(check_policy(&word.to_uppercase(), None).is_err(), "{word}");
        }
        let tail = &pattern[pattern.rfind(")$)").unwrap() + 3..];
        let tail = regex::Regex::new(&format!("^{tail}")).unwrap();
        assert!(tail.is_match("덩크로우-좋아요-2026"));
        assert!(!tail.is_match("a\u{0}bcdefgh"));
        assert_eq!((schema.min_length, schema.max_length), (Some(8), Some(128)));
    }

    #[test]
    fn policy() {
        assert!(check_policy("short", None).is_err());
        assert!(check_policy("password1", None).is_err());
        assert!(check_policy("aaaaaaaaaa", None).is_err());
        assert!(check_policy("minsu@example.com", Some("minsu@example.com")).is_err());
        assert!(check_policy(&"x1".repeat(65), None).is_err());
        assert!(check_policy("덩크로우-좋아요-2026", None).is_ok());
    }
}
