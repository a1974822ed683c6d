//! RFC 8785 JSON Canonicalization Scheme for the values our records hold.
//!
//! Objects have their keys sorted by UTF-16 code units, there is no whitespace, strings are escaped
//! as ECMAScript's `JSON.stringify` does, and numbers are printed as ECMAScript prints them. Our
//! records hold only integers, and only those a JavaScript verifier reads exactly (|n| ≤ 2^53 − 1),
//! so other numbers are refused rather than printed in a form some verifier would get wrong.

use std::fmt::Write as _;

use serde_json::Value;

/// The largest integer an IEEE-754 double (and so every JavaScript verifier) holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JcsError {
    #[error("number {0} is not an integer within ±(2^53 − 1)")]
    UnsupportedNumber(String),
}

/// The canonical bytes of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out.into_bytes())
}

fn write_value(out: &mut String, value: &Value) -> Result<(), JcsError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            let ok = n
                .as_i64()
                .map(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER)
                .or_else(|| n.as_u64().map(|u| u <= MAX_SAFE_INTEGER))
                .unwrap_or(false);
            if !ok {
                return Err(JcsError::UnsupportedNumber(n.to_string()));
            }
            // Integers print the same in ECMAScript and Rust.
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn canon(v: Value) -> String {
        String::from_utf8(canonicalize(&v).unwrap()).unwrap()
    }

    #[test]
    fn objects_sort_by_utf16_and_drop_whitespace() {
        // RFC 8785 §3.2.3: "\u{20ac}" (€, U+20AC) sorts after "\r" and before "\u{1f600}" (one
        // UTF-16 surrogate pair, 0xD83D…), although by code point U+1F600 is larger.
        let v = json!({"\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew", "1": "One", "\u{1f600}": "Emoji", "\u{0080}": "Control", "\u{00f6}": "Latin"});
        assert_eq!(
            canon(v),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{0080}\":\"Control\",\"\u{00f6}\":\"Latin\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji\",\"\u{fb33}\":\"Hebrew\"}"
        );
        assert_eq!(
            canon(json!({"b": [1, {"d": null, "c": true}], "a": "x"})),
            r#"{"a":"x","b":[1,{"c":true,"d":null}]}"#
        );
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        assert_eq!(
            canon(json!("a\"b\\c\n\u{1}\u{1f}\u{7f}한글/")),
            "\"a\\\"b\\\\c\\n\\u0001\\u001f\u{7f}한글/\""
        );
    }

    #[test]
    fn only_safe_integers_are_numbers() {
        assert_eq!(canon(json!(-9007199254740991i64)), "-9007199254740991");
        assert_eq!(canon(json!(0)), "0");
        assert!(canonicalize(&json!(9007199254740992u64)).is_err());
        assert!(canonicalize(&json!(1.5)).is_err());
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-1_000_000i64..1_000_000).prop_map(|n| json!(n)),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Canonical bytes parse back to the same value and are a fixed point.
        #[test]
        fn canonical_form_round_trips_and_is_idempotent(v in arb_json()) {
            let bytes = canonicalize(&v).unwrap();
            let back: Value = serde_json::from_slice(&bytes).unwrap();
            prop_assert_eq!(&back, &v);
            prop_assert_eq!(canonicalize(&back).unwrap(), bytes);
        }
    }
}
