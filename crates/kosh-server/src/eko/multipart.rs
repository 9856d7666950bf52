//! `multipart/form-data` bodies (RFC 7578), for the one Eko call that uploads a file:
//! the v1 settlement account with its bank statement. Text parts become parameters; a
//! file part is kept as its name and size (Kosh stores no document bytes).

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The `name` of its Content-Disposition.
    pub name: String,
    /// The `filename`, for a file part.
    pub filename: Option<String>,
    /// Its bytes.
    pub body: &'a [u8],
}

/// Most parts one body may have.
const MAX_PARTS: usize = 64;

/// The boundary of a `multipart/form-data` Content-Type, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    let (media, params) = content_type.split_once(';')?;
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("boundary") && !v.is_empty() && v.len() <= 70).then(|| v.to_owned())
    })
}

/// Splits `body` at `boundary` into its parts.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, &'static str> {
    let delimiter = format!("--{boundary}");
    let mut rest = body.strip_prefix(delimiter.as_bytes()).ok_or("the body does not start with its boundary")?;
    let separator = format!("\r\n--{boundary}");
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest.strip_prefix(b"\r\n").ok_or("a boundary is not followed by a line break")?;
        let end = find(rest, separator.as_bytes()).ok_or("the body ends inside a part")?;
        parts.push(part(&rest[..end])?);
        if parts.len() > MAX_PARTS {
            return Err("the body has too many parts");
        }
        rest = &rest[end + separator.len()..];
    }
}

fn part(bytes: &[u8]) -> Result<Part<'_>, &'static str> {
    let split = find(bytes, b"\r\n\r\n").ok_or("a part has no blank line after its headers")?;
    let headers = std::str::from_utf8(&bytes[..split]).map_err(|_| "a part's headers are not text")?;
    let disposition = headers
        .split("\r\n")
        .find_map(|h| h.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition")).map(|(_, v)| v))
        .ok_or("a part has no Content-Disposition")?;
    let field = |key: &str| {
        disposition.split(';').find_map(|p| {
            let (k, v) = p.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
        })
    };
    let name = field("name").filter(|n| !n.is_empty()).ok_or("a part has no name")?;
    Ok(Part { name, filename: field("filename"), body: &bytes[split + 4..] })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_file_parts_are_read() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"account\"\r\n\r\n123456789012\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"statement.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1\r\n\x00\x01\r\n--XyZ--\r\n";
        let parts = parse(body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), parts[0].body), ("account", &b"123456789012"[..]));
        assert_eq!(parts[1].filename.as_deref(), Some("statement.pdf"));
        assert_eq!(parts[1].body, b"%PDF-1\r\n\x00\x01");
        assert_eq!(boundary("multipart/form-data; boundary=\"XyZ\""), Some("XyZ".into()));
        assert_eq!(boundary("application/json"), None);
    }

    #[test]
    fn broken_bodies_are_refused() {
        assert!(parse(b"nope", "XyZ").is_err());
        assert!(parse(b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end", "XyZ").is_err());
        assert!(parse(b"--XyZ\r\nX: y\r\n\r\nv\r\n--XyZ--", "XyZ").is_err());
    }
}
