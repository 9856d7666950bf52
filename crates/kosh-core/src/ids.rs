//! Identifier newtypes: a partner's id, an agent's `user_code`, a transaction's `tid`,
//! a merchant's id, a recipient's id. Each is an `i64` underneath (what the store keeps),
//! but a function that takes a [`PartnerId`] cannot be handed a [`UserCode`] by mistake.
//!
//! Every type serialises as the bare number (`#[serde(transparent)]`), so stored
//! commands, idempotency records and outbox events read the same as before they were
//! typed; `Display` and `FromStr` are the decimal number, as the wire formats carry it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What every id type offers beyond its own name: the raw number, both ways, for the
/// store's rows and parameters.
pub trait Id: Copy {
    /// The id of raw number `raw` (as stored).
    fn from_raw(raw: i64) -> Self;
    /// The raw number (as stored).
    fn raw(self) -> i64;
}

/// Why text is not an id: not a decimal integer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a numeric id: {0:?}")]
pub struct ParseIdError(pub String);

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// The id of raw number `raw` (as stored).
            pub const fn new(raw: i64) -> $name {
                $name(raw)
            }

            /// The raw number (as stored).
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl Id for $name {
            fn from_raw(raw: i64) -> $name {
                $name(raw)
            }

            fn raw(self) -> i64 {
                self.0
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(text: &str) -> Result<$name, ParseIdError> {
                text.parse().map($name).map_err(|_| ParseIdError(text.to_owned()))
            }
        }

        impl PartialEq<i64> for $name {
            fn eq(&self, other: &i64) -> bool {
                self.0 == *other
            }
        }
    };
}

id_type!(
    /// Kosh's id for a partner (`partners.id`): the namespace of everything it owns.
    PartnerId
);
id_type!(
    /// An agent's (retailer's) `user_code`, unique within its partner.
    UserCode
);
id_type!(
    /// A transaction's `tid`, Kosh's own number for it, unique across products.
    Tid
);
id_type!(
    /// Kosh's id for an Echelon merchant (`echelon_merchants.id`).
    MerchantId
);
id_type!(
    /// Kosh's id for a DMT recipient (`recipient_id`), unique within its customer.
    RecipientId
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Typing the ids must not change a byte of what is stored or sent.
    #[test]
    fn serialises_as_the_bare_number() {
        assert_eq!(serde_json::to_string(&PartnerId::new(42)).unwrap(), "42");
        assert_eq!(serde_json::from_str::<Tid>("7001").unwrap(), Tid::new(7001));
        let pair: (UserCode, MerchantId) = serde_json::from_str("[20810200, 3]").unwrap();
        assert_eq!(pair, (UserCode::new(20_810_200), MerchantId::new(3)));
        assert!(serde_json::from_str::<RecipientId>("\"5\"").is_err(), "a number, not text");
    }

    #[test]
    fn displays_and_parses_as_decimal() {
        assert_eq!(Tid::new(2_000_000_123).to_string(), "2000000123");
        assert_eq!("20810200".parse::<UserCode>().unwrap().get(), 20_810_200);
        assert_eq!("x1".parse::<PartnerId>(), Err(ParseIdError("x1".into())));
        assert_eq!(i64::from(RecipientId::from_raw(9)), 9);
        assert_eq!(MerchantId::new(4).raw(), 4);
    }
}
