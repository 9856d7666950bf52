//! A small WebDriver client: headless Chromium driven through chromedriver's HTTP API
//! with reqwest. Every wait is bounded; chromedriver runs in its own process group,
//! which is killed (Chromium with it) when the browser is dropped.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// WebDriver's key for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    base: String,
    profile: PathBuf,
}

/// How long a wait for the browser may take before the test fails: generous, since it
/// only bounds a failure and a busy machine may be slow.
pub const WAIT: Duration = Duration::from_secs(60);

/// Reads chromedriver's stdout until it names the port it took (it was started on port
/// 0, so no other process can have taken the port first); keeps draining stdout after.
async fn driver_port(stdout: std::process::ChildStdout) -> Result<u16, String> {
    use std::io::BufRead;
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<u16, Vec<String>>>();
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap_or_else(|e| format!("(unreadable: {e})"));
            let port = line.strip_prefix("ChromeDriver was started successfully on port ").map(|p| p.trim_end_matches('.'));
            if let Some(port) = port.and_then(|p| p.parse::<u16>().ok()) {
                let _ = tx.send(Ok(port));
                lines.for_each(drop);
                return;
            }
            seen.push(line);
        }
        let _ = tx.send(Err(seen));
    });
    match tokio::time::timeout(WAIT, rx).await {
        Ok(Ok(Ok(port))) => Ok(port),
        Ok(Ok(Err(seen))) => Err(format!("chromedriver exited before naming its port; it printed: {seen:?}")),
        Ok(Err(_)) => Err("chromedriver's reader ended without an answer".into()),
        Err(_) => panic!("chromedriver named no port within {WAIT:?}"),
    }
}

/// Starts chromedriver on a port of its choosing; answers it and its port. A driver that
/// exits at once is started again (at most three times), since another process may
/// hold the port it picked on one of its two addresses (IPv4, IPv6).
async fn start_driver() -> (Child, u16) {
    let mut failures = Vec::new();
    for _ in 0..3 {
        let mut command = Command::new(CHROMEDRIVER);
        command.arg("--port=0").stdout(Stdio::piped()).stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut driver = command.spawn().expect("start chromedriver");
        match driver_port(driver.stdout.take().expect("piped stdout")).await {
            Ok(port) => return (driver, port),
            Err(why) => {
                let _ = driver.kill();
                let _ = driver.wait();
                failures.push(why);
            }
        }
    }
    panic!("chromedriver did not start: {failures:?}");
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium session.
    pub async fn start() -> Browser {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: install the Debian packages chromium and chromium-driver (scripts/test does)"
            );
        }
        let (driver, port) = start_driver().await;
        let profile = kosh_testkit::scratch_dir();
        let mut browser = Browser { driver, http: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}"), profile };
        browser.wait_until_ready().await;
        browser.new_session().await;
        browser
    }

    async fn wait_until_ready(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = self.http.get(format!("{}/status", self.base)).send().await;
            if let Ok(r) = ready {
                if r.json::<Value>().await.map(|v| v["value"]["ready"] == true).unwrap_or(false) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready within {WAIT:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn new_session(&mut self) {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=900,1400",
            &format!("--user-data-dir={}", self.profile.display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "pageLoadStrategy": "normal",
            "timeouts": { "pageLoad": 60_000, "script": 60_000, "implicit": 0 },
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args } } } });
        let answer = self.raw(reqwest::Method::POST, "/session", Some(caps)).await;
        let id = answer["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {answer}")).to_owned();
        self.base = format!("{}/session/{id}", self.base);
    }

    async fn raw(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        // Longer than the session's page-load and script timeouts, so chromedriver answers first.
        let mut req = self.http.request(method, format!("{}{path}", self.base)).timeout(2 * WAIT);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response = req.send().await.unwrap_or_else(|e| panic!("WebDriver {path}: {e}"));
        let value: Value = response.json().await.unwrap_or_else(|e| panic!("WebDriver {path} answer: {e}"));
        assert!(value["value"]["error"].is_null(), "WebDriver {path} failed: {}", value["value"]);
        value["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.raw(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    async fn element(&self, css: &str) -> String {
        let found = self.raw(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}")).to_owned()
    }

    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.raw(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.raw(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
        self.raw(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({ "text": text }))).await;
    }

    /// Runs `script` (a function body) in the page and answers what it returns.
    pub async fn script(&self, script: &str) -> Value {
        self.raw(reqwest::Method::POST, "/execute/sync", Some(json!({ "script": script, "args": [] }))).await
    }

    /// Polls `script` until it returns a non-empty string; answers it. Bounded.
    pub async fn wait_for(&self, what: &str, script: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Value::String(s) = self.script(script).await {
                if !s.is_empty() {
                    return s;
                }
            }
            if Instant::now() >= deadline {
                let body = self.script("return document.body ? document.body.innerText : ''").await;
                panic!("timed out after {timeout:?} waiting for {what}; the page shows:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn text(&self, css: &str) -> String {
        let script = format!("const e = document.querySelector({}); return e ? e.innerText : ''", json!(css));
        self.script(&script).await.as_str().unwrap_or_default().to_owned()
    }

    /// Saves a PNG screenshot under `target/test-artifacts/`; answers its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let png = self.raw(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().expect("base64 PNG")).expect("decode PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-artifacts");
        std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("write the screenshot");
        path
    }

    /// Ends the session (Chromium exits) and stops chromedriver.
    pub async fn close(self) {
        let _ = self.http.delete(&self.base).timeout(Duration::from_secs(10)).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole process group: chromedriver and the Chromium it started.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
