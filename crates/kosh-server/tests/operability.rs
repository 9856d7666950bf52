//! What an operator relies on to run Kosh: readiness, request ids, and the example
//! configuration that ships in `deploy/`; storage-touching checks on both backends.

use kosh_core::clock::SystemClock;
use kosh_server::config::Config;
use kosh_server::App;
use kosh_testkit::{Backend, BACKENDS};
use std::path::Path;
use std::sync::Arc;

async fn start(backend: Backend) -> App {
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    match backend {
        Backend::Sqlite => config.data_dir = kosh_testkit::scratch_dir(),
        Backend::Postgres => config.database_url = Some(kosh_testkit::fresh_database().await.into()),
    }
    App::start(config, Arc::new(SystemClock)).await.expect("start kosh")
}

fn workspace_file(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_ready_once_every_migration_is_applied() {
    for backend in BACKENDS {
        let app = start(backend).await;
        let res = reqwest::get(format!("{}/readyz", app.url())).await.unwrap();
        assert_eq!(res.status(), 200, "{backend:?}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ready", "{backend:?}: {body}");
        assert_eq!(app.state.store.pending_migrations().await.unwrap(), Vec::<i64>::new());
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_missing_a_migration_is_not_ready() {
    let app = start(Backend::Sqlite).await;
    let newest = kosh_store::migrate::MIGRATIONS.last().unwrap().version;
    let db = app.state.config.data_dir.join("kosh.db");
    let conn = rusqlite::Connection::open(&db).expect("open the database");
    let forgotten = conn.execute("DELETE FROM schema_migrations WHERE version = ?1", [newest]).expect("delete the row");
    assert_eq!(forgotten, 1, "the newest migration's row was forgotten");
    let res = reqwest::get(format!("{}/readyz", app.url())).await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "unready");
    assert!(body["error"].as_str().unwrap().contains(&newest.to_string()), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_names_its_request_id() {
    let app = start(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let kept = client.get(format!("{}/healthz", app.url())).header("x-request-id", "partner-req:42").send().await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "partner-req:42");
    let made = client.get(format!("{}/ekoapi/v1/no/such/path", app.url())).send().await.unwrap();
    assert_eq!(made.status(), 404);
    let id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    let forged = client.get(format!("{}/healthz", app.url())).header("x-request-id", "a b").send().await.unwrap();
    let replaced = forged.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(replaced, "a b");
    assert_eq!(replaced.len(), 32);
    let again = client.get(format!("{}/ekoapi/v1/no/such/path", app.url())).send().await.unwrap();
    assert_ne!(again.headers()["x-request-id"].to_str().unwrap(), id, "ids differ per request");
    app.stop().await;
}

/// The keys of `Config`, read from its source, so a new key cannot be forgotten in the
/// example file.
fn config_keys() -> Vec<String> {
    let source = std::fs::read_to_string(workspace_file("crates/kosh-server/src/config.rs")).unwrap();
    let body = source.split("pub struct Config {").nth(1).unwrap().split("\n}").next().unwrap();
    let keys: Vec<String> =
        body.lines().filter_map(|l| l.trim().strip_prefix("pub ")?.split_once(':').map(|(k, _)| k.trim().to_owned())).collect();
    assert!(keys.len() > 40, "found the Config fields: {keys:?}");
    keys
}

#[test]
fn the_example_config_documents_every_key_and_is_valid() {
    let path = workspace_file("deploy/kosh.example.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    for key in config_keys() {
        let named = text.lines().any(|l| {
            let l = l.trim_start_matches(['#', ' ']);
            l.starts_with(&format!("{key} =")) || l == format!("[{key}]")
        });
        assert!(named, "deploy/kosh.example.toml does not name `{key}`");
    }
    let config = Config::from_file(Some(&path)).expect("the example parses");
    config.validate().expect("the example is a valid sandbox configuration");
    let defaults = Config::default();
    assert_eq!(format!("{config:?}"), format!("{defaults:?}"), "the example's values are the defaults");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_door_answers_browsers_in_html_and_clients_in_json() {
    for backend in BACKENDS {
        let app = start(backend).await;
        let client = reqwest::Client::new();
        let page = client.get(app.url()).header("accept", "text/html,application/xhtml+xml").send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        let html = page.text().await.unwrap();
        assert!(html.contains(env!("CARGO_PKG_VERSION")) && html.contains("sandbox"), "{html}");
        assert!(html.contains(kosh_server::sandbox::DEVELOPER_KEY), "sandbox mode shows the public credentials");
        assert!(html.contains(r#"href="/openapi/echelon.json""#));
        let facts: serde_json::Value = client.get(app.url()).send().await.unwrap().json().await.unwrap();
        let store = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
        assert_eq!(facts["store"], store, "{backend:?}: {facts}");
        assert_eq!(facts["sandbox"], true);
        assert_eq!(facts["sandbox_credentials"]["initiator_id"], kosh_server::sandbox::INITIATOR_ID);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echelon_openapi_document_names_this_server() {
    let app = start(Backend::Sqlite).await;
    let doc: serde_json::Value = reqwest::get(format!("{}/openapi/echelon.json", app.url())).await.unwrap().json().await.unwrap();
    assert_eq!(doc["servers"][0]["url"], app.url(), "{}", doc["servers"]);
    assert_eq!(doc["servers"].as_array().unwrap().len(), 1);
    assert_eq!(doc["info"]["version"], "2.47");
    assert!(doc["paths"].as_object().unwrap().len() > 5);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_openmetrics_with_process_figures_and_can_require_a_token() {
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    config.data_dir = kosh_testkit::scratch_dir();
    config.metrics_token = Some("metrics-token-0123456789".into());
    let app = App::start(config, Arc::new(SystemClock)).await.expect("start kosh");
    let client = reqwest::Client::new();
    let url = format!("{}/metrics", app.url());
    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert_eq!(client.get(&url).bearer_auth("wrong-token-0123456789").send().await.unwrap().status(), 401);
    let answer = client.get(&url).bearer_auth("metrics-token-0123456789").send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = answer.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    for name in ["process_resident_memory_bytes ", "process_open_fds ", "process_threads ", "process_start_time_seconds "] {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in\n{text}"));
        let value: f64 = line[name.len()..].parse().unwrap();
        assert!(value > 0.0, "{line}");
    }
    // The sandbox seed's batches: every one in the +Inf bucket, each of one command.
    let value = |prefix: &str| text.lines().find_map(|l| l.strip_prefix(prefix)).unwrap_or_else(|| panic!("{prefix} in\n{text}"));
    let batches = value("kosh_store_batch_size_count ");
    assert_ne!(batches, "0");
    assert_eq!(value("kosh_store_batch_size_bucket{le=\"+Inf\"} "), batches);
    assert_eq!(value("kosh_store_batch_size_bucket{le=\"1.0\"} "), batches);
    app.stop().await;
}
