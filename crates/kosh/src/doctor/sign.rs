//! `kosh doctor sign`: the Eko headers a partner sent (a `Name: value` list, e.g. from
//! their logs or `curl -v`), or a pasted curl command, checked offline the way Kosh
//! checks them, saying exactly which signing mistake was made.

use super::hash::{self, Field, Keys};
use super::report::Report;
use clap::{ArgGroup, Args};
use kosh_core::clock::{Clock, SystemClock};
use kosh_core::secret::Secret;
use std::io::Read;

/// Most bytes of headers read from a file or stdin.
const MAX_INPUT_BYTES: u64 = 1024 * 1024;

/// The headers Kosh reads to authenticate a request.
const DEVELOPER_KEY: &str = "developer_key";
const SECRET_KEY: &str = "secret-key";
const TIMESTAMP: &str = "secret-key-timestamp";
const REQUEST_HASH: &str = "request_hash";

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("input").required(true).args(["headers", "curl"])))]
pub struct SignArgs {
    /// The partner's access key (the HMAC secret the headers should be signed with).
    #[arg(long, env = "KOSH_ACCESS_KEY", hide_env_values = true)]
    access_key: Secret,
    /// The partner's developer_key: checked against the header, and recognised when a
    /// signature was made with it by mistake.
    #[arg(long)]
    developer_key: Option<String>,
    /// A file of `Name: value` lines (`-` reads stdin).
    #[arg(long, value_name = "FILE|-")]
    headers: Option<String>,
    /// A curl command as pasted from a terminal (its -H/--header arguments are read,
    /// with shell quoting).
    #[arg(long, value_name = "'curl …'")]
    curl: Option<String>,
    /// The request_hash fields' values, comma-separated, in the order the API documents.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    hash_fields: Option<Vec<String>>,
    /// The server's timestamp_tolerance_secs.
    #[arg(long, default_value_t = hash::DEFAULT_TOLERANCE_SECS)]
    tolerance_secs: u64,
}

pub fn run(args: SignArgs, report: &mut Report) -> Result<(), String> {
    let headers = match (&args.headers, &args.curl) {
        (Some(source), _) => parse_header_lines(&read_source(source)?),
        (None, Some(curl)) => curl_headers(curl)?,
        (None, None) => unreachable!("clap requires --headers or --curl"),
    };
    if headers.is_empty() {
        return Err("no headers found: give `Name: value` lines, or a curl command with -H 'Name: value' arguments".into());
    }
    let keys = Keys { access_key: args.access_key.expose(), developer_key: args.developer_key.as_deref().map(str::trim) };
    let fields: Option<Vec<Field>> = args.hash_fields.as_ref().map(|values| {
        values.iter().enumerate().map(|(i, v)| Field { label: format!("field {} ({v:?})", i + 1), value: v.clone() }).collect()
    });
    diagnose(report, &headers, &keys, fields.as_deref(), SystemClock.now_ms(), args.tolerance_secs);
    Ok(())
}

fn read_source(source: &str) -> Result<String, String> {
    let mut text = String::new();
    let read = if source == "-" {
        std::io::stdin().take(MAX_INPUT_BYTES).read_to_string(&mut text)
    } else {
        std::fs::File::open(source).and_then(|f| f.take(MAX_INPUT_BYTES).read_to_string(&mut text))
    };
    read.map_err(|e| format!("cannot read the headers from {source}: {e}"))?;
    Ok(text)
}

/// `Name: value` lines; `curl -v`'s `> ` prefix, request lines and blank lines are skipped.
fn parse_header_lines(text: &str) -> Vec<(String, String)> {
    text.lines().filter_map(|line| header(line.trim().trim_start_matches('>').trim())).collect()
}

fn header(text: &str) -> Option<(String, String)> {
    let (name, value) = text.split_once(':')?;
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some((name.to_owned(), value.trim().to_owned()))
}

/// The headers of a curl command: `-H V`, `--header V`, `-HV`, `--header=V`, and short
/// flags bundled before `H` (`-sSH V`), after splitting the text as a POSIX shell would.
fn curl_headers(command: &str) -> Result<Vec<(String, String)>, String> {
    let words =
        shlex::split(command).ok_or("the curl command's quoting is unbalanced (an unclosed ' or \"); paste the whole command")?;
    let mut headers = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if TAKES_VALUE.contains(&word.as_str()) {
            words.next();
            continue;
        }
        let value = if word == "-H" || word == "--header" {
            words.next()
        } else if let Some(rest) = word.strip_prefix("--header=") {
            Some(rest.to_owned())
        } else if let Some(rest) = bundled_header(&word) {
            if rest.is_empty() {
                words.next()
            } else {
                Some(rest.to_owned())
            }
        } else {
            None
        };
        if let Some((name, value)) = value.as_deref().and_then(header) {
            headers.push((name, value));
        }
    }
    Ok(headers)
}

/// curl options whose value is the next word (skipped, so a body is never read as a header).
const TAKES_VALUE: [&str; 24] = [
    "-d",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-urlencode",
    "--json",
    "-X",
    "--request",
    "-u",
    "--user",
    "-o",
    "--output",
    "-A",
    "--user-agent",
    "-e",
    "--referer",
    "-b",
    "--cookie",
    "-F",
    "--form",
    "--url",
    "-m",
    "--max-time",
    "-x",
];

/// For `-H…` or short flags that take no value bundled before `H` (`-sSH`): the text
/// after the `H`.
fn bundled_header(word: &str) -> Option<&str> {
    let flags = word.strip_prefix('-').filter(|w| !w.starts_with('-'))?;
    let at = flags.find('H')?;
    flags[..at].chars().all(|c| "sSvkiLfgqI#".contains(c)).then(|| &flags[at + 1..])
}

/// The value of the header `name` (case-insensitive).
fn find<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A header sent under a near miss of `name` (`secret_key` for `secret-key`).
fn near_miss<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    let norm = |n: &str| n.to_ascii_lowercase().replace(['_', ' '], "-");
    headers.iter().find(|(n, _)| norm(n) == norm(name)).map(|(n, _)| n.as_str())
}

fn diagnose(
    report: &mut Report,
    headers: &[(String, String)],
    keys: &Keys,
    fields: Option<&[Field]>,
    now_ms: i64,
    tolerance_secs: u64,
) {
    let mut wanted = vec![DEVELOPER_KEY, SECRET_KEY, TIMESTAMP];
    if fields.is_some() {
        wanted.push(REQUEST_HASH);
    }
    // What is present is still checked: a partner fixes every mistake in one go.
    check_present(report, headers, &wanted);
    check_developer_key(report, find(headers, DEVELOPER_KEY), keys);
    let Some(timestamp) = find(headers, TIMESTAMP) else { return };
    if !hash::check_timestamp(report, TIMESTAMP, timestamp, now_ms, tolerance_secs) {
        return;
    }
    if let Some(secret_key) = find(headers, SECRET_KEY) {
        hash::check_secret_key(report, SECRET_KEY, secret_key, keys, timestamp);
    }
    match (find(headers, REQUEST_HASH), fields) {
        (Some(provided), Some(fields)) => hash::check_request_hash(report, REQUEST_HASH, provided, keys, timestamp, fields, &[]),
        (Some(_), None) => {
            report.skip(REQUEST_HASH, "pass --hash-fields with the request's values, in the documented order, to check it")
        }
        (None, _) => {}
    }
}

/// Reports the headers missing, naming a near miss sent instead.
fn check_present(report: &mut Report, headers: &[(String, String)], wanted: &[&str]) {
    let missing: Vec<&str> = wanted.iter().copied().filter(|name| find(headers, name).is_none()).collect();
    if missing.is_empty() {
        report.ok("headers", format!("{} present", wanted.join(", ")));
        return;
    }
    let mut fixes = Vec::new();
    for name in &missing {
        match near_miss(headers, name) {
            Some(sent) if *name == DEVELOPER_KEY => fixes.push(format!(
                "rename {sent} to {name} (with an underscore; if a proxy drops it, enable underscores in headers, e.g. nginx's underscores_in_headers on)"
            )),
            Some(sent) => fixes.push(format!("rename {sent} to {name}")),
            None => fixes.push(format!("send {name}")),
        }
    }
    let problem = format!("missing {}; Kosh refuses the request before checking anything else", missing.join(", "));
    report.fail("headers", problem, fixes.join("; "));
}

fn check_developer_key(report: &mut Report, sent: Option<&str>, keys: &Keys) {
    let Some(sent) = sent else { return };
    match keys.developer_key {
        None => report.skip(DEVELOPER_KEY, "pass --developer-key to check it"),
        Some(expected) if kosh_core::signing::constant_time_eq(sent, expected) => {
            report.ok(DEVELOPER_KEY, "is this partner's developer_key")
        }
        Some(_) if sent == keys.access_key => report.fail(
            DEVELOPER_KEY,
            "the header carries the access key, which must never be sent",
            "send the developer_key in this header, and issue a new access key since it has been sent in clear",
        ),
        Some(_) => report.fail(
            DEVELOPER_KEY,
            format!("{sent:?} is not this partner's developer_key"),
            "send the developer_key issued with this access key (kosh partner list shows it)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_headers_follow_shell_quoting() {
        let command =
            "curl -s 'http://x/y?a=1' \\\n  -H 'developer_key: abc' --header \"secret-key: a b=\" -H'secret-key-timestamp:17' \
                       -sSH 'request_hash: h' -d '-Hnot: a header' --header=X-Other:1";
        let headers = curl_headers(command).unwrap();
        let names: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(
            names,
            [
                ("developer_key", "abc"),
                ("secret-key", "a b="),
                ("secret-key-timestamp", "17"),
                ("request_hash", "h"),
                ("X-Other", "1")
            ]
        );
        assert!(curl_headers("curl -H 'unclosed").is_err());
    }

    #[test]
    fn header_lines_skip_what_is_not_a_header() {
        let text = "> GET /ekoapi/v1/user/services HTTP/1.1\n> developer_key: abc\n\nsecret-key:  k=  \nnonsense\n";
        assert_eq!(
            parse_header_lines(text),
            [("developer_key".to_owned(), "abc".to_owned()), ("secret-key".into(), "k=".into())]
        );
    }
}
