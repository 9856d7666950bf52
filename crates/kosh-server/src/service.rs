//! The service layer: where money moves and where anything outside Kosh is called.
//!
//! Every money flow is *record* (one store command: idempotency claim, checks,
//! reservation, state) → *the external call* (a rail, a partner's Fetch Details) →
//! *apply* (one store command), and a worker finishes what a crash left between the
//! steps. The dialect adapters (`eko`, `echelon`, `gateway`, `admin`) parse the wire
//! format into a typed request, call a service here and render its typed answer; they
//! never call a rail or an outbound HTTP client themselves, and no store command does
//! I/O. `tests::handlers_call_no_rail_and_no_http` checks the first half of that rule.

pub mod aeps;
pub mod aeps_gateway;
pub mod bbps;
pub mod cms;
pub mod collections;
pub mod dmt;
pub mod echelon_payments;
pub mod payouts;
pub mod token;
pub mod verification;

/// Why a service or worker step got no answer from the store: a read failed, or a
/// command was refused or could not be written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A read failed.
    #[error(transparent)]
    Read(#[from] kosh_store::sql::SqlError),
    /// A command was refused or could not be written.
    #[error(transparent)]
    Command(#[from] kosh_store::error::CommandError),
}

/// An absolute URL, as the outbound HTTP client parses it: adapters check a partner's
/// URL with the parser the call will use, without holding the client.
pub type Url = reqwest::Url;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The dialect adapters: each module file and everything under its folder.
    const ADAPTERS: [&str; 5] = ["eko", "echelon", "gateway", "admin", "cms"];
    /// What only a service may name: the rails, their `submit`, the HTTP client and
    /// Kosh's outgoing-HTTP module.
    const FORBIDDEN: [&str; 5] = ["kosh_rails", ".submit(", "reqwest", "workers::outbound", "workers::rail"];

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.map(|e| e.expect("a directory entry")) {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The gateway page's intents (announce, confirm, refuse) go through
    /// `service::aeps_gateway`: its handlers run no store command and read no intent
    /// themselves.
    #[test]
    fn gateway_intents_go_through_the_service() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gateway/api.rs");
        let source = std::fs::read_to_string(&file).expect("gateway/api.rs");
        let code = source.lines().enumerate().filter(|(_, line)| !line.trim_start().starts_with("//"));
        for (n, line) in code {
            for name in ["store.execute", "store.aeps_gateway_intent", "store.aeps_gateway_session"] {
                assert!(!line.contains(name), "gateway/api.rs:{}: {line:?} calls {name} directly", n + 1);
            }
        }
    }

    /// No handler calls a rail or an outbound HTTP client: their code (doc comments
    /// may name them) goes through `service`.
    #[test]
    fn handlers_call_no_rail_and_no_http() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for adapter in ADAPTERS {
            files.push(src.join(format!("{adapter}.rs")));
            rust_files(&src.join(adapter), &mut files);
        }
        assert!(files.len() > ADAPTERS.len(), "the adapters' folders were found: {files:?}");
        for file in &files {
            let source = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let code = source.lines().enumerate().filter(|(_, line)| !line.trim_start().starts_with("//"));
            for (n, line) in code {
                for name in FORBIDDEN {
                    assert!(!line.contains(name), "{}:{}: {line:?} names {name}", file.display(), n + 1);
                }
            }
        }
    }
}
