//! The reader of the environment map: every mistake is remembered, none stops the reading.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use base64::Engine as _;

/// Reads variables out of the map, remembering every mistake.
pub(super) struct Reader<'a> {
    pub env: &'a HashMap<String, String>,
    pub errors: Vec<String>,
}

impl Reader<'_> {
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    pub fn required(&mut self, name: &str, what: &str) -> Option<String> {
        match self.raw(name) {
            Some(v) => Some(v.to_owned()),
            None => {
                self.errors.push(format!("{name} is not set ({what})"));
                None
            }
        }
    }

    pub fn parse<T: FromStr>(&mut self, name: &str, default: &str, what: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        let raw = self.raw(name).unwrap_or(default).to_owned();
        match raw.parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors
                    .push(format!("{name}={raw:?} is not {what}: {e}"));
                None
            }
        }
    }

    /// The duration `name` gives (or `default`), noting it if it is not one.
    fn parsed_duration(&mut self, name: &str, default: &str, like: &str) -> Option<Duration> {
        let raw = self.raw(name).unwrap_or(default).to_owned();
        humantime::parse_duration(&raw)
            .map_err(|e| {
                self.errors.push(format!(
                    "{name}={raw:?} is not a duration such as {like}: {e}"
                ))
            })
            .ok()
    }

    /// A duration that may be zero (a feature turned off), at most `max`.
    pub fn duration_or_zero(
        &mut self,
        name: &str,
        default: &str,
        max: Duration,
    ) -> Option<Duration> {
        let d = self.parsed_duration(name, default, "1s or 0s")?;
        if d > max {
            self.errors.push(format!(
                "{name} must be at most {}",
                humantime::format_duration(max)
            ));
            return None;
        }
        Some(d)
    }

    pub fn duration(&mut self, name: &str, default: &str) -> Option<Duration> {
        let d = self.parsed_duration(name, default, "15m or 30d")?;
        if d.is_zero() {
            self.errors.push(format!("{name} must be above zero"));
            return None;
        }
        Some(d)
    }

    /// A secret given as base64 (standard or URL-safe), at least `min_len` bytes once decoded.
    pub fn secret_bytes(&mut self, name: &str, value: &str, min_len: usize) -> Option<Vec<u8>> {
        match decode_base64(value) {
            Some(bytes) if bytes.len() >= min_len => Some(bytes),
            Some(bytes) => {
                self.errors.push(format!(
                    "{name} decodes to {} bytes; at least {min_len} are needed (try `openssl rand -base64 32`)",
                    bytes.len()
                ));
                None
            }
            None => {
                self.errors.push(format!("{name} is not valid base64"));
                None
            }
        }
    }
}

pub(super) fn decode_base64(value: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    STANDARD
        .decode(value)
        .ok()
        .or_else(|| URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok())
}
