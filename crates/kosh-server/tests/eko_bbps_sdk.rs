//! The vendor's published Node SDK (`@ekoindia/eko-sdk-node`, pinned in
//! `scripts/setup-sdks`) against Kosh on both backends: its bill-payment functions
//! (categories, locations, operators, operator parameters, fetch, pay), called
//! unchanged from `tests/sdk/bbps.js` by Debian's `node`, get the documented shapes.
//! With `request_hash` enforced, its payBill (which hashes with the developer_key) gets a
//! 403 that says so; with `warn`, the payment goes through.

mod eko_support;
use kosh_testkit::on_both_backends;

use eko_support::Backend;
use kosh_server::config::HashStrictness;
use std::path::Path;
use std::process::Command;

on_both_backends!(the_vendors_node_sdk_bill_payment_functions_get_the_documented_shapes);

/// The SDK's sample client_ref_id, which the script uses for its fetch and payment.
const SDK_REFERENCE: &str = "202105311125123456";

async fn run_script(app: &kosh_server::App, mode: &'static str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/bbps.js");
    let port = app.addr.port().to_string();
    let sdk = kosh_testkit::node_sdk();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            // Node resolves `require` from the script's folder; the SDK lives elsewhere.
            .env("NODE_PATH", sdk.join("node_modules"))
            .current_dir(&sdk)
            .env("KOSH_HOST", "127.0.0.1")
            .env("KOSH_PORT", port)
            .env("KOSH_MODE", mode)
            .output()
            .expect("run node (Debian's nodejs; scripts/setup-sdks installs it)")
    })
    .await
    .expect("the node task");
    assert!(
        output.status.success(),
        "tests/sdk/bbps.js ({mode}) failed:\n--- stderr\n{}\n--- stdout\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
}

async fn the_vendors_node_sdk_bill_payment_functions_get_the_documented_shapes(backend: Backend) {
    for (strictness, mode) in [(HashStrictness::Enforce, "enforce"), (HashStrictness::Warn, "warn")] {
        let app = eko_support::start(backend, |c| c.request_hash = strictness).await;
        run_script(&app, mode).await;
        let partner = app.state.store.find_partner("sandbox").await.unwrap().expect("the sandbox partner");
        let payment = app.state.store.bbps_payment_by_client_ref(partner.id, SDK_REFERENCE).await.unwrap();
        match mode {
            "enforce" => assert!(payment.is_none(), "a refused request_hash records nothing: {payment:?}"),
            _ => assert_eq!(payment.expect("the SDK's payment").operator_id, 51),
        }
        app.stop().await;
    }
}
