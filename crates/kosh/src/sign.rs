//! `kosh sign`: the Eko authentication headers for an access key, offline.
//!
//! Prints `header: value` lines, ready for `curl -H`. With a fixed `--timestamp` it is a
//! known-answer tool: compare its output with what your code computes for the same
//! timestamp to find a signing mistake without sending anything.

use clap::Args;
use kosh_core::clock::{Clock, SystemClock};
use kosh_core::secret::Secret;
use kosh_core::signing::{request_hash, secret_key};

/// Digits in a millisecond timestamp from 2001 to 2286; 10 digits means seconds.
const MILLISECOND_DIGITS: usize = 13;

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The partner's access key: the HMAC secret, never sent itself.
    #[arg(long, env = "KOSH_ACCESS_KEY", hide_env_values = true)]
    access_key: Secret,
    /// secret-key-timestamp, in milliseconds since the Unix epoch [default: now]. The
    /// server accepts timestamps within its tolerance (300 s by default).
    #[arg(long, value_name = "MS", allow_hyphen_values = true)]
    timestamp: Option<String>,
    /// The request_hash fields, comma-separated, in the order the API documents; they
    /// are concatenated after the timestamp without separators.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    hash_fields: Option<Vec<String>>,
    /// Also print the developer_key header, so the output is the whole set of headers.
    #[arg(long)]
    developer_key: Option<String>,
}

pub fn run(args: SignArgs) -> Result<(), String> {
    let timestamp = match args.timestamp {
        Some(text) => parse_timestamp(&text)?,
        None => SystemClock.now_ms().to_string(),
    };
    if let Some(key) = &args.developer_key {
        println!("developer_key: {}", key.trim());
    }
    println!("secret-key: {}", secret_key(args.access_key.expose(), &timestamp));
    println!("secret-key-timestamp: {timestamp}");
    if let Some(fields) = &args.hash_fields {
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        println!("request_hash: {}", request_hash(args.access_key.expose(), &timestamp, &fields));
    }
    Ok(())
}

fn parse_timestamp(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("--timestamp {text:?} must be milliseconds since the Unix epoch, e.g. 1700000000000"));
    }
    if text.len() < MILLISECOND_DIGITS {
        eprintln!("note: --timestamp {text} looks like seconds; Eko signs milliseconds since the epoch");
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_must_be_digits() {
        assert_eq!(parse_timestamp(" 1700000000000 ").unwrap(), "1700000000000");
        assert!(parse_timestamp("17e11").is_err());
        assert!(parse_timestamp("-1").is_err());
        assert!(parse_timestamp("").is_err());
    }
}
