//! The identity documents and identifiers verification requests carry, each parsed
//! into its normal form (trimmed, upper case) or refused with the reason shown in
//! `invalid_params`.

use crate::aadhaar::Aadhaar;
use crate::banks::{AccountNumber, Ifsc};
use crate::validate::{Mobile, Pan};

/// The 36 symbols of a GSTIN's check character, in the order the checksum counts them.
const GSTIN_ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A PAN; in sandbox mode the documentation's example `ABCDE1234F` too.
pub fn pan(text: &str, sandbox: bool) -> Result<String, String> {
    let parsed = if sandbox { Pan::parse_sandbox(text) } else { Pan::parse(text) };
    parsed.map(|p| p.as_str().to_owned()).map_err(String::from)
}

/// An IFSC.
pub fn ifsc(text: &str) -> Result<String, String> {
    Ifsc::parse(text).map(|i| i.as_str().to_owned()).map_err(String::from)
}

/// A bank account number (9 to 18 digits).
pub fn account(text: &str) -> Result<String, String> {
    AccountNumber::parse(text).map(|a| a.as_str().to_owned()).map_err(|e| e.message().to_owned())
}

/// An Aadhaar number with its Verhoeff check digit.
pub fn aadhaar(text: &str) -> Result<String, String> {
    Aadhaar::parse(text).map(|a| a.digits().to_owned()).map_err(String::from)
}

/// A 10-digit Indian mobile number.
pub fn mobile(text: &str) -> Result<String, String> {
    Mobile::parse(text).map(|m| m.as_str().to_owned()).map_err(String::from)
}

/// The GSTIN check character over the first 14 characters (which must be from
/// [`GSTIN_ALPHABET`]): each character's value, doubled at odd positions, is folded
/// base 36 and summed; the check character makes the sum a multiple of 36.
pub fn gstin_check_char(first_fourteen: &str) -> Option<char> {
    let mut sum = 0usize;
    for (i, c) in first_fourteen.bytes().enumerate() {
        let value = GSTIN_ALPHABET.iter().position(|a| *a == c)?;
        let product = value * if i % 2 == 1 { 2 } else { 1 };
        sum += product / 36 + product % 36;
    }
    (first_fourteen.len() == 14).then(|| char::from(GSTIN_ALPHABET[(36 - sum % 36) % 36]))
}

/// A GSTIN: a 2-digit state code, the holder's PAN, an entity number, `Z`, and a check
/// character ([`gstin_check_char`]).
pub fn gstin(text: &str) -> Result<String, String> {
    let t = text.trim().to_ascii_uppercase();
    let b = t.as_bytes();
    let shape = b.len() == 15
        && b[..2].iter().all(u8::is_ascii_digit)
        && Pan::parse(&t[2..12]).is_ok()
        && (b[12].is_ascii_uppercase() || (b'1'..=b'9').contains(&b[12]))
        && b[13] == b'Z'
        && b[14].is_ascii_alphanumeric();
    if !shape {
        return Err(
            "must be a 15-character GSTIN: state code, PAN, entity number, Z, check character (e.g. 27AAPFU0939F1ZV)".into()
        );
    }
    let state: u8 = t[..2].parse().unwrap_or(0);
    if !(1..=38).contains(&state) && state != 97 && state != 99 {
        return Err(format!("starts with {state:02}, which is no GST state code (01 to 38, 97, 99)"));
    }
    if gstin_check_char(&t[..14]) != Some(char::from(b[14])) {
        return Err("is not a valid GSTIN (the check character is wrong)".into());
    }
    Ok(t)
}

/// A vehicle registration number: `DL01AB1234` (state, RTO, series, number; spaces and
/// hyphens ignored) or a Bharat series number `22BH1234AB`.
pub fn vehicle(text: &str) -> Result<String, String> {
    let t: String = text.trim().to_ascii_uppercase().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let b = t.as_bytes();
    let bharat = b.len() >= 9
        && b.len() <= 10
        && b[..2].iter().all(u8::is_ascii_digit)
        && &b[2..4] == b"BH"
        && b[4..8].iter().all(u8::is_ascii_digit)
        && b[8..].iter().all(u8::is_ascii_uppercase);
    if bharat || state_series(b) {
        return Ok(t);
    }
    Err("must be a vehicle registration number like DL01AB1234 (or a Bharat series number like 22BH1234AB)".into())
}

/// `SS RR [A-Z]{0,3} NNNN`: state letters, 1–2 RTO digits, up to 3 series letters, 4 digits.
fn state_series(b: &[u8]) -> bool {
    if b.len() < 7 || !b[..2].iter().all(u8::is_ascii_uppercase) {
        return false;
    }
    let rest = &b[2..];
    let rto = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let rest = &rest[rto..];
    let series = rest.iter().take_while(|c| c.is_ascii_uppercase()).count();
    let number = &rest[series..];
    (1..=2).contains(&rto) && series <= 3 && number.len() == 4 && number.iter().all(u8::is_ascii_digit)
}

/// A driving licence number: state letters, 2 RTO digits, the 4-digit year of issue
/// and a 7-digit serial (`DL0420110012345`; spaces and hyphens ignored).
pub fn dl_number(text: &str) -> Result<String, String> {
    let t: String = text.trim().to_ascii_uppercase().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let b = t.as_bytes();
    let shape = b.len() == 15 && b[..2].iter().all(u8::is_ascii_uppercase) && b[2..].iter().all(u8::is_ascii_digit);
    let year: i32 = if shape { t[4..8].parse().unwrap_or(0) } else { 0 };
    if !shape || !(1950..=2100).contains(&year) {
        return Err("must be a driving licence number like DL0420110012345 (state, RTO, year of issue, 7-digit serial)".into());
    }
    Ok(t)
}

/// A passport application file number: 2–3 letters (the passport office) and 7–13 digits.
pub fn passport_file(text: &str) -> Result<String, String> {
    let t = text.trim().to_ascii_uppercase();
    let b = t.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    let digits = &b[letters..];
    if !(1..=3).contains(&letters) || !(7..=13).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return Err("must be a passport file number: 1 to 3 letters then 7 to 13 digits (e.g. DL1061234567890)".into());
    }
    Ok(t)
}

/// A voter ID (EPIC) number: three letters and seven digits.
pub fn epic(text: &str) -> Result<String, String> {
    let t = text.trim().to_ascii_uppercase();
    let b = t.as_bytes();
    if b.len() != 10 || !b[..3].iter().all(u8::is_ascii_uppercase) || !b[3..].iter().all(u8::is_ascii_digit) {
        return Err("must be a voter ID (EPIC) number: 3 letters and 7 digits (e.g. ABC1234567)".into());
    }
    Ok(t)
}

/// A Corporate Identification Number: listed (L) or unlisted (U), 5-digit industry code,
/// state letters, year of incorporation, 3-letter ownership, 6-digit registration.
pub fn cin(text: &str) -> Result<String, String> {
    let t = text.trim().to_ascii_uppercase();
    let b = t.as_bytes();
    let shape = b.len() == 21
        && matches!(b[0], b'L' | b'U')
        && b[1..6].iter().all(u8::is_ascii_digit)
        && b[6..8].iter().all(u8::is_ascii_uppercase)
        && b[8..12].iter().all(u8::is_ascii_digit)
        && b[12..15].iter().all(u8::is_ascii_uppercase)
        && b[15..].iter().all(u8::is_ascii_digit);
    let year: i32 = if shape { t[8..12].parse().unwrap_or(0) } else { 0 };
    if !shape || !(1850..=2100).contains(&year) {
        return Err("must be a 21-character CIN like U12345DL1999PTC012345".into());
    }
    Ok(t)
}

/// A UAN (EPF universal account number): 12 digits.
pub fn uan(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.len() != 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be a 12-digit UAN".into());
    }
    Ok(t.to_owned())
}

/// An IPv4 or IPv6 address.
pub fn ip(text: &str) -> Result<String, String> {
    text.trim().parse::<std::net::IpAddr>().map(|a| a.to_string()).map_err(|_| "must be an IPv4 or IPv6 address".into())
}

/// A latitude (−90 to 90) or longitude (−180 to 180), in decimal degrees.
pub fn degrees(text: &str, limit: f64) -> Result<String, String> {
    let t = text.trim();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() <= limit => Ok(t.to_owned()),
        _ => Err(format!("must be decimal degrees between -{limit} and {limit}")),
    }
}

/// Most bytes a face-match image may have once decoded (its base64 text must also fit in
/// one request parameter, 32 KiB).
pub const MAX_IMAGE_BYTES: usize = 24 * 1024;

/// A base64 JPEG or PNG image of at most [`MAX_IMAGE_BYTES`]; answers a digest of it
/// (the image itself is never stored).
pub fn image(text: &str) -> Result<String, String> {
    use base64::Engine as _;
    let t = text.trim();
    let t = t.split_once("base64,").map_or(t, |(_, data)| data);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(t.as_bytes())
        .map_err(|_| "must be a base64-encoded JPEG or PNG image".to_owned())?;
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(format!("is {} bytes; a face-match image may have at most {MAX_IMAGE_BYTES} bytes", bytes.len()));
    }
    let jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
    let png = bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]);
    if !jpeg && !png {
        return Err("is not an image: send a base64-encoded JPEG or PNG".into());
    }
    Ok(crate::secret::hash_secret("kosh-face-image", t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gstin_checksums() {
        for good in ["27AAPFU0939F1ZV", "07AAACB2894G1ZP", "33AAACH7409R1Z8", "27aapfu0939f1zv"] {
            assert!(gstin(good).is_ok(), "{good}");
        }
        let wrong = gstin("27AAPFU0939F1ZW").unwrap_err();
        assert!(wrong.contains("check character"), "{wrong}");
        assert!(gstin("27AAPFU0939F1Z").is_err());
        assert!(gstin("45AAPFU0939F1ZV").unwrap_err().contains("state code"));
        assert!(gstin("27AAPDU0939F1ZV").is_err(), "the PAN inside must have a holder type");
    }

    #[test]
    fn documents() {
        assert_eq!(vehicle("dl 01 ab 1234"), Ok("DL01AB1234".into()));
        assert!(vehicle("DL1C1234").is_ok() && vehicle("22BH1234AB").is_ok());
        for bad in ["DL01AB123", "D101AB1234", "DL01ABCD1234", "1234"] {
            assert!(vehicle(bad).is_err(), "{bad}");
        }
        assert!(dl_number("DL-0420110012345").is_ok());
        assert!(dl_number("DL042011001234").is_err() && dl_number("DL0418000012345").is_err());
        assert!(passport_file("DL1061234567890").is_ok() && passport_file("P123456789").is_ok());
        assert!(passport_file("1234567890").is_err() && passport_file("ABCD1234567").is_err());
        assert!(epic("abc1234567").is_ok() && epic("AB12345678").is_err());
        assert!(cin("U12345DL1999PTC012345").is_ok());
        assert!(cin("X12345DL1999PTC012345").is_err() && cin("U12345DL1999PTC01234").is_err());
        assert!(ip("10.0.0.1").is_ok() && ip("::1").is_ok() && ip("300.1.1.1").is_err());
        assert!(degrees("28.5", 90.0).is_ok() && degrees("91", 90.0).is_err() && degrees("NaN", 90.0).is_err());
    }

    #[test]
    fn images() {
        use base64::Engine as _;
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(image(&b64(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])).is_ok());
        assert!(image(&format!("data:image/png;base64,{}", b64(b"\x89PNG\r\n\x1a\nrest"))).is_ok());
        assert!(image(&b64(b"GIF89a....")).unwrap_err().contains("not an image"));
        assert!(image("@@@").unwrap_err().contains("base64"));
        let mut big = vec![0xFF, 0xD8, 0xFF];
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        assert!(image(&b64(&big)).unwrap_err().contains("at most"));
    }
}
