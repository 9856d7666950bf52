//! `kosh merchant create|list|secret` on both backends: the secret is printed once and
//! only one-way values of it are stored.

mod common;

use kosh_core::clock::SystemClock;
use kosh_core::echelon::merchant::secret_matches;
use kosh_store::{Location, Store};
use kosh_testkit::scratch_dir;
use std::process::Command;
use std::sync::Arc;

const KOSH: &str = env!("CARGO_BIN_EXE_kosh");

fn kosh(args: &[&str], store: &[String]) -> (i32, String, String) {
    let mut cmd = Command::new(KOSH);
    for var in ["KOSH_CONFIG", "KOSH_DATA_DIR", "KOSH_DATABASE_URL", "KOSH_MERCHANT_SECRET"] {
        cmd.env_remove(var);
    }
    let out = cmd.args(args).args(store).output().expect("run kosh");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
    (out.status.code().expect("exited"), text(out.stdout), text(out.stderr))
}

fn field(stdout: &str, name: &str) -> String {
    let prefix = format!("{name}: ");
    stdout.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {name} in {stdout}")).trim().to_owned()
}

async fn scenario(store_flags: Vec<String>, location: Location) {
    let (code, _, err) = kosh(&["partner", "create", "--name", "acme"], &store_flags);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) =
        kosh(&["merchant", "create", "--partner", "acme", "--code", "ACME-1", "--name", "Acme Payments"], &store_flags);
    assert_eq!(code, 0, "{err}");
    let secret = field(&out, "secret");
    assert_eq!(field(&out, "merchantCode"), "ACME-1");
    assert!(err.contains("shown this once only"));
    let (code, _, err) =
        kosh(&["merchant", "create", "--partner", "acme", "--code", "ACME-1", "--name", "Acme Payments"], &store_flags);
    assert_eq!(code, 1);
    assert!(err.contains("taken"), "{err}");
    let (_, _, err) = kosh(&["merchant", "create", "--partner", "acme", "--code", "bad code", "--name", "Acme"], &store_flags);
    assert!(err.contains("--code"), "{err}");
    let (_, _, err) = kosh(&["merchant", "create", "--partner", "acme", "--code", "ACME-2", "--name", "Acme 2"], &store_flags);
    assert!(err.contains("--name"), "{err}");
    let (code, list, _) = kosh(&["merchant", "list"], &store_flags);
    assert_eq!(code, 0);
    assert!(list.contains("ACME-1") && list.contains("Acme Payments") && !list.contains(&secret), "{list}");

    let (code, out, err) = kosh(&["merchant", "secret", "--code", "ACME-1"], &store_flags);
    assert_eq!(code, 0, "{err}");
    let rotated = field(&out, "secret");
    assert_ne!(rotated, secret);
    let (code, _, err) = kosh(&["merchant", "secret", "--code", "NOPE"], &store_flags);
    assert_eq!(code, 1);
    assert!(err.contains("no merchant"), "{err}");

    let store = Store::open(location.clone(), Arc::new(SystemClock)).await.expect("open");
    let m = store.echelon_merchant("ACME-1").await.unwrap().expect("stored");
    assert!(secret_matches(&m.secret_salt, &m.secret_verifier, &rotated));
    assert!(!secret_matches(&m.secret_salt, &m.secret_verifier, &secret));
    assert!(![m.secret_salt.as_str(), m.secret_verifier.as_str(), m.token_key.expose()].iter().any(|v| v.contains(&rotated)));
    if let Location::Sqlite(path) = &location {
        for file in [path.clone(), path.with_extension("db-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                let text = String::from_utf8_lossy(&bytes);
                assert!(!text.contains(&rotated) && !text.contains(&secret), "a secret is readable in {}", file.display());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchants_on_sqlite() {
    let dir = scratch_dir();
    let flags = vec!["--data-dir".to_owned(), dir.display().to_string()];
    scenario(flags, Location::Sqlite(dir.join("kosh.db"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchants_on_postgres() {
    let url = common::fresh_database().await;
    scenario(vec!["--database-url".to_owned(), url.clone()], Location::Postgres(url)).await;
}
