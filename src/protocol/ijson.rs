//! Reading published JSON strictly, as I-JSON (RFC 7493): a document that two parsers could read
//! differently is refused, never guessed at. Refused: a key twice in one object (parsers that keep
//! the first value and parsers that keep the last would see different records), an integer that
//! an IEEE 754 double cannot hold exactly (beyond ±(2^53 − 1)), a string with a noncharacter, and,
//! by the JSON parser itself, invalid UTF-8, lone surrogates and trailing data.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The largest integer a double holds exactly, and its negative (RFC 7493 §2.2).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Parses `text` as I-JSON, or says why it is not.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Strict.deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// Parses `text` as I-JSON into `T`.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(parse(text)?).map_err(|e| e.to_string())
}

fn noncharacter(c: char) -> bool {
    let c = c as u32;
    (0xFDD0..=0xFDEF).contains(&c) || (c & 0xFFFE) == 0xFFFE
}

#[derive(Clone, Copy)]
struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("I-JSON")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        if v.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(E::custom(format!(
                "the integer {v} is beyond ±(2^53 − 1), which I-JSON allows"
            )));
        }
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        if v > MAX_SAFE_INTEGER {
            return Err(E::custom(format!(
                "the integer {v} is beyond 2^53 − 1, which I-JSON allows"
            )));
        }
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        match v.chars().find(|c| noncharacter(*c)) {
            Some(c) => Err(E::custom(format!(
                "a string holds the noncharacter U+{:04X}",
                c as u32
            ))),
            None => Ok(Value::String(v.to_owned())),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if let Some(c) = key.chars().find(|c| noncharacter(*c)) {
                return Err(de::Error::custom(format!(
                    "a key holds the noncharacter U+{:04X}",
                    c as u32
                )));
            }
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            let value = map.next_value_seed(Strict)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn plain_json_reads_as_serde_json_reads_it() {
        let text = r#"{"a":[1,-2,3.5,"한글",null,true],"b":{"c":"d"},"e":9007199254740991}"#;
        assert_eq!(
            parse(text).unwrap(),
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }

    #[test]
    fn a_key_twice_is_refused_at_any_depth() {
        for text in [
            r#"{"name":"forged","name":"genuine"}"#,
            r#"{"record":{"name":"forged","brand":"x","name":"genuine"}}"#,
            r#"[{"a":1},{"b":1,"b":2}]"#,
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("appears twice"), "{text}: {err}");
        }
        // The same key in two objects is fine.
        assert!(parse(r#"[{"a":1},{"a":2}]"#).is_ok());
    }

    #[test]
    fn integers_a_double_cannot_hold_are_refused() {
        assert!(parse("9007199254740991").is_ok());
        assert!(parse("-9007199254740991").is_ok());
        assert!(parse("9007199254740992").is_err());
        assert!(parse("-9007199254740992").is_err());
        assert!(parse(r#"{"edition_size":18446744073709551615}"#).is_err());
    }

    #[test]
    fn surrogates_noncharacters_and_trailing_data_are_refused() {
        assert!(parse(r#""\ud800""#).is_err());
        assert!(parse(r#""\ufdd0""#).is_err());
        assert!(parse("\"\u{fffe}\"").is_err());
        assert!(parse(r#"{"\uffff":1}"#).is_err());
        assert!(parse(r#"{"a":1} {"a":2}"#).is_err());
        assert!(parse(r#""\ud83d\ude00""#).is_ok());
    }
}
