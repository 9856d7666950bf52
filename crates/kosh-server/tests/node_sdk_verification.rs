//! The vendor's Node SDK (`@ekoindia/eko-sdk-node`, pinned by `scripts/setup-sdks`),
//! unchanged: `verifyPAN` and `verifyBankAccount` against a fresh sandbox server on each
//! backend get the keys the SDK's own tests check (`tests/sdk/verify.js`), and are charged.

mod eko_support;
use kosh_testkit::on_both_backends;

use eko_support::Backend;
use kosh_core::ledger::AccountKind;
use std::process::Command;

on_both_backends!(the_node_sdk_verifies_a_pan_and_a_bank_account);

async fn the_node_sdk_verifies_a_pan_and_a_bank_account(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let partner = app.state.store.find_partner("sandbox").await.expect("read").expect("the sandbox partner").id;
    let balance =
        || async { app.state.store.balance(partner, &AccountKind::PartnerWallet).await.expect("balance").available_credit() };
    let before = balance().await;
    let sdk = kosh_testkit::node_sdk();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/verify.js");
    let port = app.addr.port().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(script).env("KOSH_PORT", port).env("NODE_PATH", sdk.join("node_modules")).output()
    })
    .await
    .expect("join")
    .expect("run node (Debian's nodejs; scripts/setup-sdks installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the SDK script failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let answers: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("the script prints its answers");
    assert_eq!(answers["account"]["bank"], "Kotak Mahindra Bank", "{answers}");
    assert_eq!(before - balance().await, 250 + 700, "one PAN fee and one penny-drop fee");
    app.stop().await;
}
