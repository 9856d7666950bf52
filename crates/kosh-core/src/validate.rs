//! Parse, don't validate: newtypes that can only hold well-formed values. Each parser
//! returns a message fit to show a partner in `invalid_params`.

use crate::civil::{self, Date};
use crate::ids::UserCode;
use serde::{Deserialize, Serialize};

/// Longest free-text value Kosh accepts in any field.
pub const MAX_TEXT_LEN: usize = 256;

type Parsed<T> = Result<T, &'static str>;

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// An Indian mobile number: 10 digits starting with 6–9.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Mobile(String);

impl Mobile {
    /// Parses a mobile number (trimmed; no `+91` prefix); the error is the reason shown to the partner.
    pub fn parse(text: &str) -> Parsed<Mobile> {
        let t = text.trim();
        if t.len() != 10 || !all_digits(t) {
            return Err("must be a 10-digit mobile number");
        }
        if !matches!(t.as_bytes()[0], b'6'..=b'9') {
            return Err("must start with 6, 7, 8 or 9");
        }
        Ok(Mobile(t.to_owned()))
    }

    /// The ten digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The PAN holder types (4th character) the Income Tax Department issues: A association
/// of persons, B body of individuals, C company, E limited liability partnership, F firm,
/// G government, H Hindu undivided family, J artificial juridical person, K krish (a
/// trust category some official lists carry), L local authority, P individual, T trust.
/// Where lists disagree the letter is accepted: refusing a real PAN blocks an agent,
/// while a PAN no one holds fails the platform's PAN verification anyway.
pub const PAN_HOLDER_TYPES: &[u8] = b"ABCEFGHJKLPT";

/// The PAN in the vendor's own examples. Its 4th character (D) is no holder type, so it
/// is accepted only in sandbox mode, where the documentation's examples must work.
pub const DOCS_EXAMPLE_PAN: &str = "ABCDE1234F";

/// A PAN: five letters, four digits, a letter; the fourth letter says who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Pan(String);

impl Pan {
    /// A PAN as a sandbox accepts it: any real PAN, and the documentation's example.
    pub fn parse_sandbox(text: &str) -> Parsed<Pan> {
        let t = text.trim().to_ascii_uppercase();
        if t == DOCS_EXAMPLE_PAN {
            return Ok(Pan(t));
        }
        Pan::parse(&t)
    }

    /// A PAN: five letters, four digits, a letter; the fourth letter names the holder type.
    pub fn parse(text: &str) -> Parsed<Pan> {
        let t = text.trim().to_ascii_uppercase();
        let b = t.as_bytes();
        let shape = b.len() == 10
            && b[..5].iter().all(u8::is_ascii_uppercase)
            && b[5..9].iter().all(u8::is_ascii_digit)
            && b[9].is_ascii_uppercase();
        if !shape {
            return Err("must be a PAN like ABCDE1234F");
        }
        if !PAN_HOLDER_TYPES.contains(&b[3]) {
            return Err("has an invalid holder type (4th character)");
        }
        Ok(Pan(t))
    }

    /// The PAN, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, checked for shape only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email(String);

impl Email {
    /// Parses an e-mail address (trimmed, at most 254 bytes, one `@`, a dotted domain).
    pub fn parse(text: &str) -> Parsed<Email> {
        let t = text.trim();
        if t.len() > 254 {
            return Err("is longer than 254 characters");
        }
        let Some((local, domain)) = t.split_once('@') else { return Err("must be an e-mail address") };
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !t.chars().any(|c| c.is_whitespace() || c.is_control())
            && !domain.contains('@');
        if !ok {
            return Err("must be an e-mail address");
        }
        Ok(Email(t.to_owned()))
    }

    /// The address as given, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name part: letters, spaces, dots, apostrophes and hyphens, 1–50 chars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonName(String);

impl PersonName {
    /// Parses a name part (trimmed).
    pub fn parse(text: &str) -> Parsed<PersonName> {
        let t = text.trim();
        if t.is_empty() || t.chars().count() > 50 {
            return Err("must be 1 to 50 characters");
        }
        if !t.chars().all(|c| c.is_alphabetic() || matches!(c, ' ' | '.' | '\'' | '-')) {
            return Err("must contain only letters");
        }
        Ok(PersonName(t.to_owned()))
    }

    /// The name, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Printable free text of bounded length (shop names, comments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text(String);

impl Text {
    /// Parses non-empty text (trimmed) of at most `max_chars` (and [`MAX_TEXT_LEN`]) characters.
    pub fn parse(text: &str, max_chars: usize) -> Parsed<Text> {
        let t = text.trim();
        if t.is_empty() {
            return Err("must not be empty");
        }
        if t.chars().count() > max_chars.min(MAX_TEXT_LEN) {
            return Err("is too long");
        }
        if t.chars().any(char::is_control) {
            return Err("must not contain control characters");
        }
        Ok(Text(t.to_owned()))
    }

    /// The text, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A date of birth of an adult (18–120 years old on `today`).
pub fn parse_adult_dob(text: &str, today_ms: i64) -> Parsed<Date> {
    let dob = Date::parse_iso(text.trim()).ok_or("must be a date in YYYY-MM-DD format")?;
    let age = dob.years_until(civil::ist_date(today_ms));
    if age < 18 {
        return Err("must be at least 18 years ago");
    }
    if age > 120 {
        return Err("must be at most 120 years ago");
    }
    Ok(dob)
}

/// A partner's unique reference: 1–20 printable ASCII characters without spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ClientRefId(String);

impl ClientRefId {
    /// Most characters a `client_ref_id` may have.
    pub const MAX_LEN: usize = 20;

    /// Parses a reference (trimmed): 1 to [`ClientRefId::MAX_LEN`] printable ASCII characters.
    pub fn parse(text: &str) -> Parsed<ClientRefId> {
        let t = text.trim();
        if t.is_empty() || t.len() > Self::MAX_LEN {
            return Err("must be 1 to 20 characters");
        }
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be printable ASCII without spaces");
        }
        Ok(ClientRefId(t.to_owned()))
    }

    /// The reference, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An agent's 8-digit user code.
pub fn parse_user_code(text: &str) -> Parsed<UserCode> {
    let t = text.trim();
    if t.len() != 8 || !all_digits(t) {
        return Err("must be an 8-digit user code");
    }
    t.parse().map_err(|_| "must be an 8-digit user code")
}

/// `"28.6139,77.2090"`: a latitude and longitude in range.
pub fn parse_latlong(text: &str) -> Parsed<(f64, f64)> {
    let (lat, long) = text.trim().split_once(',').ok_or("must be latitude,longitude")?;
    let lat: f64 = lat.trim().parse().map_err(|_| "must be latitude,longitude")?;
    let long: f64 = long.trim().parse().map_err(|_| "must be latitude,longitude")?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&long) {
        return Err("is out of range");
    }
    Ok((lat, long))
}

/// A residence address, sent as a JSON object (often as a JSON string inside a form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// House, street and locality.
    pub line: String,
    /// City or town.
    pub city: String,
    /// State or union territory.
    pub state: String,
    /// Six-digit PIN code.
    pub pincode: String,
    /// District, when given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub district: String,
    /// Area or village, when given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub area: String,
}

impl Address {
    /// Parses the JSON object (or a JSON string holding it); the error is the reason shown to the partner.
    pub fn parse(text: &str) -> Parsed<Address> {
        let addr: Address =
            serde_json::from_str(text.trim()).map_err(|_| "must be a JSON object with line, city, state and pincode")?;
        for part in [&addr.line, &addr.city, &addr.state] {
            Text::parse(part, 100).map_err(|_| "line, city and state must be 1 to 100 characters")?;
        }
        for part in [&addr.district, &addr.area] {
            if part.chars().count() > 100 || part.chars().any(char::is_control) {
                return Err("district and area must be at most 100 characters");
            }
        }
        let pin = addr.pincode.as_bytes();
        if pin.len() != 6 || !all_digits(&addr.pincode) || pin[0] == b'0' {
            return Err("pincode must be 6 digits, not starting with 0");
        }
        Ok(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles() {
        assert!(Mobile::parse("9962981729").is_ok());
        assert!(Mobile::parse("5962981729").is_err());
        assert!(Mobile::parse("996298172").is_err());
        assert!(Mobile::parse("99629817290").is_err());
        assert!(Mobile::parse("99629a1729").is_err());
    }

    #[test]
    fn pans() {
        assert_eq!(Pan::parse("abcpe1234f").unwrap().as_str(), "ABCPE1234F");
        assert!(Pan::parse("ABCXE1234F").is_err(), "X is not a holder type");
        assert!(Pan::parse("ABCP1234F").is_err());
        assert!(Pan::parse("ABCPE12345").is_err());
    }

    #[test]
    fn every_issued_holder_type_is_accepted() {
        for holder in "ABCEFGHJKLPT".chars() {
            let pan = format!("AAA{holder}K1234Q");
            assert_eq!(Pan::parse(&pan).map(|p| p.as_str().to_owned()), Ok(pan.clone()), "{holder}");
        }
        for holder in "DIMNOQRSUVWXYZ".chars() {
            assert!(Pan::parse(&format!("AAA{holder}K1234Q")).is_err(), "{holder} is no holder type");
        }
        assert!(Pan::parse("AAAEL1234Q").is_ok(), "a limited liability partnership");
    }

    #[test]
    fn the_docs_example_pan_is_accepted_only_in_sandbox() {
        assert!(Pan::parse(DOCS_EXAMPLE_PAN).is_err(), "D is no holder type");
        assert_eq!(Pan::parse_sandbox("abcde1234f").unwrap().as_str(), DOCS_EXAMPLE_PAN);
        assert!(Pan::parse_sandbox("ABCPE1234F").is_ok());
        assert!(Pan::parse_sandbox("ABCXE1234F").is_err(), "only the example itself, not D or X in general");
        assert!(Pan::parse_sandbox("ABCDF1234F").is_err());
    }

    #[test]
    fn emails() {
        assert!(Email::parse("a@b.in").is_ok());
        for bad in ["a@b", "@b.in", "a b@c.in", "a@.in", "a@b.in.", "a@b@c.in"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_text() {
        assert!(PersonName::parse("Ram Kumar").is_ok());
        assert!(PersonName::parse("R2D2").is_err());
        assert!(PersonName::parse(&"a".repeat(51)).is_err());
        assert!(Text::parse("Shop\u{0}", 50).is_err());
        assert!(Text::parse("  ", 50).is_err());
    }

    #[test]
    fn client_ref_ids() {
        assert!(ClientRefId::parse("ABC1700000000000").is_ok());
        assert!(ClientRefId::parse(&"x".repeat(21)).is_err());
        assert!(ClientRefId::parse("a b").is_err());
        assert!(ClientRefId::parse("").is_err());
    }

    #[test]
    fn dob_must_be_an_adult() {
        let today = Date::parse_iso("2026-11-21").unwrap().to_days() * 86_400_000;
        assert!(parse_adult_dob("1990-01-31", today).is_ok());
        assert!(parse_adult_dob("2010-01-31", today).is_err());
        assert!(parse_adult_dob("1890-01-31", today).is_err());
        assert!(parse_adult_dob("31-01-1990", today).is_err());
    }

    #[test]
    fn addresses() {
        let ok = r#"{"line":"Eko India","city":"Gurgaon","state":"Haryana","pincode":"122002","district":"Gurgaon","area":"Sector 12"}"#;
        assert_eq!(Address::parse(ok).unwrap().city, "Gurgaon");
        assert!(Address::parse(r#"{"line":"x","city":"y","state":"z","pincode":"022002"}"#).is_err());
        assert!(Address::parse(r#"{"line":"x","city":"y"}"#).is_err());
        assert!(Address::parse("not json").is_err());
    }

    #[test]
    fn user_codes_and_latlong() {
        assert_eq!(parse_user_code("20810200"), Ok(UserCode::new(20_810_200)));
        assert!(parse_user_code("2081020").is_err());
        assert!(parse_latlong("28.61,77.20").is_ok());
        assert!(parse_latlong("128.61,77.20").is_err());
        assert!(parse_latlong("28.61").is_err());
    }
}
