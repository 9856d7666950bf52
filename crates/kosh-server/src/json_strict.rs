//! JSON parsing that refuses a key repeated within one object, at any depth.
//!
//! `serde_json` lets the last of duplicate keys win, and a `Value` it built has already
//! dropped the others, so a check over the parsed value cannot see them. A body such as
//! `{"amount": 1, "amount": 100000}` would then mean one thing to Kosh and another to
//! a proxy, a log or a partner's own parser that keeps the first. This parse builds the
//! same `Value` as `serde_json::from_slice`, but fails on the second occurrence of a key
//! (compared after unescaping, so `"\u0061"` repeats `"a"`), naming where it was.
//!
//! ```
//! use kosh_server::json_strict::{self, StrictJsonError};
//! let err = json_strict::from_slice(br#"{"money":{"amount":1,"amount":2}}"#).unwrap_err();
//! assert!(matches!(err, StrictJsonError::DuplicateKey { ref path } if path == "money.amount"));
//! ```

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

/// Why a body was not parsed.
#[derive(Debug)]
pub enum StrictJsonError {
    /// Not JSON (syntax, trailing characters, nesting deeper than serde_json allows).
    Syntax(serde_json::Error),
    /// A key appears twice in one object; `path` names it from the root, e.g.
    /// `paymentRequested.money.amount` or `items[2].id`.
    DuplicateKey { path: String },
}

impl fmt::Display for StrictJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrictJsonError::Syntax(e) => write!(f, "{e}"),
            StrictJsonError::DuplicateKey { path } => write!(f, "the key {path} appears more than once"),
        }
    }
}

impl std::error::Error for StrictJsonError {}

/// Parses JSON text into a `Value`, refusing duplicate keys.
pub fn from_slice(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Seed { at: &Place::Root, duplicate: &duplicate }.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match (parsed, duplicate.into_inner()) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(path)) => Err(StrictJsonError::DuplicateKey { path }),
        (Err(e), None) => Err(StrictJsonError::Syntax(e)),
    }
}

pub fn from_str(text: &str) -> Result<Value, StrictJsonError> {
    from_slice(text.as_bytes())
}

/// Where a value sits, as a chain to the root (built into a path only for an error).
enum Place<'a> {
    Root,
    Key(&'a Place<'a>, &'a str),
    Index(&'a Place<'a>, usize),
}

impl Place<'_> {
    fn path(&self) -> String {
        match self {
            Place::Root => String::new(),
            Place::Key(Place::Root, key) => (*key).to_owned(),
            Place::Key(parent, key) => format!("{}.{key}", parent.path()),
            Place::Index(parent, i) => format!("{}[{i}]", parent.path()),
        }
    }
}

/// Builds the value at `at`; records the first duplicate key in `duplicate`.
#[derive(Clone, Copy)]
struct Seed<'a> {
    at: &'a Place<'a>,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json refuses non-finite numbers before they get here.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Seed { at: &Place::Index(self.at, items.len()), ..self })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let path = Place::Key(self.at, &key).path();
                let message = format!("the key {path} appears more than once");
                *self.duplicate.borrow_mut() = Some(path);
                return Err(de::Error::custom(message));
            }
            let value = map.next_value_seed(Seed { at: &Place::Key(self.at, &key), ..self })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duplicate(text: &str) -> Option<String> {
        match from_str(text) {
            Err(StrictJsonError::DuplicateKey { path }) => Some(path),
            _ => None,
        }
    }

    #[test]
    fn parses_what_serde_json_parses_into_the_same_value() {
        for text in [
            "null",
            "true",
            "-12",
            "18446744073709551615",
            "4.2e3",
            "1e-400",
            r#""a\u00e9\n""#,
            "[]",
            "{}",
            r#"{"a":[1,{"b":null,"c":[true,"x"]}],"d":{"e":{}}}"#,
            r#" { "amount" : 42.0000000000000001 } "#,
        ] {
            assert_eq!(from_str(text).unwrap(), serde_json::from_str::<Value>(text).unwrap(), "{text}");
        }
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth_naming_them() {
        assert_eq!(duplicate(r#"{"a":1,"a":2}"#).as_deref(), Some("a"));
        assert_eq!(duplicate(r#"{"a":1,"b":2,"a":1}"#).as_deref(), Some("a"), "also with equal values");
        assert_eq!(duplicate(r#"{"m":{"amount":1,"amount":100000}}"#).as_deref(), Some("m.amount"));
        assert_eq!(duplicate(r#"{"list":[{"id":1},{"id":2,"id":3}]}"#).as_deref(), Some("list[1].id"));
        assert_eq!(duplicate(r#"[[{"x":{"y":0,"y":0}}]]"#).as_deref(), Some("[0][0].x.y"));
        assert_eq!(duplicate(r#"{"a":1,"\u0061":2}"#).as_deref(), Some("a"), "compared after unescaping");
        assert_eq!(duplicate(r#"{"":1,"":2}"#).as_deref(), Some(""));
    }

    #[test]
    fn the_same_key_in_different_objects_is_fine() {
        let v = from_str(r#"{"a":{"id":1},"b":{"id":1},"c":[{"id":1},{"id":1}],"id":0}"#).unwrap();
        assert_eq!(v["c"][1]["id"], 1);
        // Keys differing only in case or in escapes that decode differently are distinct.
        assert!(from_str(r#"{"a":1,"A":2,"a\u0000":3}"#).is_ok());
    }

    #[test]
    fn syntax_errors_stay_syntax_errors() {
        for text in ["", "{", r#"{"a":1,}"#, r#"{"a":1} x"#, "[1,]", "NaN", "1e400", r#"{"a" 1}"#] {
            assert!(matches!(from_str(text), Err(StrictJsonError::Syntax(_))), "{text}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(matches!(from_str(&deep), Err(StrictJsonError::Syntax(_))), "serde_json's depth limit holds");
        let error = from_str(r#"{"a":1,"a":2}"#).unwrap_err().to_string();
        assert_eq!(error, "the key a appears more than once");
    }
}
