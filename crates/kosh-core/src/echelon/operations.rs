//! Operation patterns: what a token lets its holder call.
//!
//! Each operation is `METHOD /path`, where the text may be a regular expression
//! (`GET /payins/.*`), as the vendor documents. A pattern must match the **whole**
//! `METHOD /path` of a request: a token for `GET /payins/TST-1` does not open
//! `GET /payins/TST-12` or `GET /payins/TST-1/x`. Patterns without regex metacharacters
//! (the common case, e.g. every `/auth-tokens-by-action` token) are compared as plain
//! strings; the rest are compiled once into a `RegexSet` with size and nesting limits.
//! The `regex` crate runs in linear time, so no pattern can make matching slow.

use regex::{RegexSet, RegexSetBuilder};

/// Most operations one token may carry.
pub const MAX_OPERATIONS: usize = 50;
/// Longest operation, in characters (the spec's `maxLength`).
pub const MAX_OPERATION_LEN: usize = 1000;
/// Largest compiled program of one token's patterns, in bytes.
pub const MAX_COMPILED_BYTES: usize = 1 << 20;
/// Deepest nesting of groups and repetitions in a pattern.
pub const MAX_NESTING: u32 = 32;

const METHODS: [&str; 5] = ["POST", "GET", "PATCH", "PUT", "DELETE"];
const METACHARACTERS: &str = "\\.+*?()|[]{}^$";

/// Why operations were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperationError {
    /// The list or an entry breaks the schema (400).
    #[error("{0}")]
    Schema(String),
    /// An entry is not a usable pattern: it does not compile within the limits (406
    /// `OPERATION_INVALID`).
    #[error("{0}")]
    Invalid(String),
}

/// Checks one entry against the spec's shape `^(POST|GET|PATCH|PUT|DELETE) /[^ ]+`.
fn check_shape(index: usize, op: &str) -> Result<(), OperationError> {
    let schema = |why: &str| Err(OperationError::Schema(format!("operations[{index}] {why}")));
    if op.chars().count() > MAX_OPERATION_LEN {
        return schema(&format!("is longer than {MAX_OPERATION_LEN} characters"));
    }
    let Some((method, path)) = op.split_once(' ') else {
        return schema("must be an HTTP method, a space and a path, e.g. \"GET /payins/TST-1\"");
    };
    if !METHODS.contains(&method) {
        return schema(&format!("must start with one of {}", METHODS.join(", ")));
    }
    if !path.starts_with('/') || path.len() < 2 || path.as_bytes()[1] == b' ' {
        return schema("must have a path starting with / after the method");
    }
    Ok(())
}

/// The compiled grants of a token.
#[derive(Debug, Clone)]
pub struct Grants {
    literals: Vec<String>,
    patterns: Option<RegexSet>,
}

impl Grants {
    /// Compiles a token's operations, refusing lists and patterns beyond the limits.
    pub fn compile(operations: &[String]) -> Result<Grants, OperationError> {
        if operations.is_empty() {
            return Err(OperationError::Schema("operations must list at least one operation".into()));
        }
        if operations.len() > MAX_OPERATIONS {
            return Err(OperationError::Schema(format!("operations may list at most {MAX_OPERATIONS} operations")));
        }
        let mut literals = Vec::new();
        let mut patterns = Vec::new();
        for (index, op) in operations.iter().enumerate() {
            check_shape(index, op)?;
            if op.contains(|c| METACHARACTERS.contains(c)) {
                patterns.push(format!("^(?:{op})$"));
            } else {
                literals.push(op.clone());
            }
        }
        let patterns = if patterns.is_empty() {
            None
        } else {
            let set = RegexSetBuilder::new(&patterns)
                .size_limit(MAX_COMPILED_BYTES)
                .dfa_size_limit(MAX_COMPILED_BYTES)
                .nest_limit(MAX_NESTING)
                .build()
                .map_err(|e| OperationError::Invalid(invalid_reason(&e)))?;
            Some(set)
        };
        Ok(Grants { literals, patterns })
    }

    /// Whether the grants allow `method path` (the path without its query string).
    pub fn allows(&self, method: &str, path: &str) -> bool {
        let request = format!("{method} {path}");
        self.literals.contains(&request) || self.patterns.as_ref().is_some_and(|set| set.is_match(&request))
    }
}

fn invalid_reason(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(limit) => format!("an operation pattern compiles to more than {limit} bytes"),
        regex::Error::Syntax(text) => {
            format!("an operation is not a valid pattern: {}", text.lines().last().unwrap_or("syntax error"))
        }
        _ => "an operation is not a valid pattern".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(ops: &[&str]) -> Grants {
        Grants::compile(&ops.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("compiles")
    }

    #[test]
    fn literals_match_the_whole_request() {
        let g = grants(&["GET /payins/TST-1"]);
        assert!(g.allows("GET", "/payins/TST-1"));
        assert!(!g.allows("GET", "/payins/TST-12"));
        assert!(!g.allows("GET", "/payins/TST-1/x"));
        assert!(!g.allows("GET", "/payins/TST-"));
        assert!(!g.allows("POST", "/payins/TST-1"));
        assert!(!g.allows("GET", "/x/payins/TST-1"));
    }

    #[test]
    fn patterns_are_anchored_at_both_ends() {
        let g = grants(&["GET /payins/.*", "POST /payins/!availablePaymentOptions"]);
        assert!(g.allows("GET", "/payins/anything/accounts"));
        assert!(!g.allows("GET", "/payouts/x"));
        assert!(g.allows("POST", "/payins/!availablePaymentOptions"));
        let alternation = grants(&["GET /payins/A|GET /payouts/B"]);
        assert!(alternation.allows("GET", "/payins/A") && alternation.allows("GET", "/payouts/B"));
        assert!(!alternation.allows("GET", "/payins/AB"));
        let dotted = grants(&["GET /payins/TST.1"]);
        assert!(dotted.allows("GET", "/payins/TSTx1") && !dotted.allows("GET", "/payins/TSTx12"));
    }

    #[test]
    fn refuses_bad_shapes_and_pathological_patterns() {
        let compile = |ops: Vec<String>| Grants::compile(&ops);
        assert!(matches!(compile(vec![]), Err(OperationError::Schema(_))));
        assert!(matches!(compile(vec!["FETCH /x".into()]), Err(OperationError::Schema(_))));
        assert!(matches!(compile(vec!["GET payins".into()]), Err(OperationError::Schema(_))));
        assert!(matches!(compile(vec!["GET / x".into()]), Err(OperationError::Schema(_))));
        assert!(matches!(compile(vec![format!("GET /{}", "a".repeat(MAX_OPERATION_LEN))]), Err(OperationError::Schema(_))));
        assert!(matches!(compile(vec!["GET /x".into(); MAX_OPERATIONS + 1]), Err(OperationError::Schema(_))));
        assert!(matches!(compile(vec!["GET /payins/(".into()]), Err(OperationError::Invalid(_))));
        assert!(matches!(compile(vec!["GET /(.{1000}){1000}".into()]), Err(OperationError::Invalid(_))));
        let nested = format!("GET /{}a{}", "(".repeat(40), ")".repeat(40));
        assert!(matches!(compile(vec![nested]), Err(OperationError::Invalid(_))));
        // Catastrophic for a backtracking engine; linear here.
        let g = grants(&["GET /(a+)+$"]);
        assert!(!g.allows("GET", &format!("/{}b", "a".repeat(10_000))));
    }
}
