//! `kosh dmt transfer` and `kosh dmt transfers`, run as a user runs them, on both backends.

mod common;

use kosh_core::clock::{Clock, ManualClock, SystemClock};
use kosh_core::dmt::DmtChannel;
use kosh_core::ids::{Tid, UserCode};
use kosh_core::money::Paise;
use kosh_core::pricing::Pricing;
use kosh_store::commands::dmt::{AddRecipient, DmtCommand, DmtOutcome, EnrollCustomer, NewTransfer, VerifyCustomer};
use kosh_store::commands::{Command as StoreCommand, Outcome};
use kosh_store::ops::dmt_customers::NewCustomer;
use kosh_store::ops::dmt_recipients::NewRecipient;
use kosh_store::ops::otp::OtpRequest;
use kosh_store::{Location, Store};
use kosh_testkit::{scratch_dir, Backend, BACKENDS};
use std::process::Command;

const KOSH: &str = env!("CARGO_BIN_EXE_kosh");
const MOBILE: &str = "9111100001";

async fn execute(store: &Store, cmd: DmtCommand) -> DmtOutcome {
    match store.execute(StoreCommand::Dmt(cmd)).await.expect("command") {
        Outcome::Dmt(outcome) => outcome,
        other => panic!("unexpected {other:?}"),
    }
}

/// A sandbox partner with one recorded transfer (not yet sent to the rail).
async fn store_with_a_transfer(location: Location) -> Tid {
    // A clock that stands still: the customer's OTP (60 s) cannot expire between issuing
    // and verifying it, however slow the machine.
    let store = Store::open(location, ManualClock::new(SystemClock.now_ms())).await.expect("open");
    store.migrate().await.expect("migrate");
    store.execute(kosh_server::sandbox::seed_command(1_000)).await.expect("seed");
    let partner_id = store.find_partner("sandbox").await.expect("read").expect("sandbox").id;
    let otp = OtpRequest {
        purpose: "dmt_customer".into(),
        subject: MOBILE.into(),
        code: "424242".into(),
        ttl_ms: 60_000,
        max_attempts: 3,
        sandbox_visible: false,
    };
    let customer = NewCustomer {
        mobile: MOBILE.into(),
        name: "Asha Verma".into(),
        dob: "1990-01-01".into(),
        residence_address: "{}".into(),
        user_code: UserCode::new(20_810_200),
    };
    execute(&store, DmtCommand::EnrollCustomer(EnrollCustomer { partner_id, customer, otp })).await;
    let verify =
        DmtCommand::VerifyCustomer(VerifyCustomer { partner_id, mobile: MOBILE.into(), code: "424242".into(), otp_ref_id: None });
    assert!(matches!(execute(&store, verify).await, DmtOutcome::CustomerVerified(_)));
    let recipient = NewRecipient {
        id_type: "acc_ifsc".into(),
        account: "123456789012".into(),
        ifsc: "SBIN0000001".into(),
        bank_code: "SBIN".into(),
        recipient_name: "Ravi Kumar".into(),
        recipient_mobile: "9876543210".into(),
        recipient_type: 3,
    };
    let add = DmtCommand::AddRecipient(AddRecipient { partner_id, mobile: MOBILE.into(), recipient, max_recipients: 20 });
    let DmtOutcome::RecipientAdded(r) = execute(&store, add).await else { panic!("recipient") };
    let transfer = NewTransfer {
        partner_id,
        user_code: UserCode::new(20_810_200),
        client_ref_id: "CLI-1".into(),
        customer_mobile: MOBILE.into(),
        recipient_id: r.recipient_id,
        amount_paise: Paise::new(12_345).unwrap(),
        channel: DmtChannel::Imps,
        pricing: Pricing::default(),
        recovery_ms: 30_000,
    };
    let DmtOutcome::TransferRecorded(t) = execute(&store, DmtCommand::InitiateTransfer(transfer)).await else {
        panic!("transfer")
    };
    t.tid
}

fn kosh(args: &[&str], store: &[String]) -> (bool, String, String) {
    let mut cmd = Command::new(KOSH);
    cmd.args(args).args(store);
    for name in ["KOSH_CONFIG", "KOSH_DATA_DIR", "KOSH_DATABASE_URL"] {
        cmd.env_remove(name);
    }
    let out = cmd.output().expect("run kosh");
    (out.status.success(), String::from_utf8(out.stdout).expect("utf-8"), String::from_utf8(out.stderr).expect("utf-8"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_are_shown_and_listed_on_both_backends() {
    for backend in BACKENDS {
        let (location, flags) = match backend {
            Backend::Sqlite => {
                let dir = scratch_dir();
                (Location::Sqlite(dir.join("kosh.db")), vec!["--data-dir".to_owned(), dir.display().to_string()])
            }
            Backend::Postgres => {
                let url = common::fresh_database().await;
                (Location::Postgres(url.clone()), vec!["--database-url".to_owned(), url])
            }
        };
        let tid = store_with_a_transfer(location).await.to_string();
        let (ok, out, err) = kosh(&["dmt", "transfer", "--partner", "sandbox", "--tid", &tid], &flags);
        assert!(ok, "{backend:?}: {err}");
        assert!(out.contains(&format!("tid: {tid}")) && out.contains("tx_status: 2 (Initiated)"), "{out}");
        assert!(out.contains("amount: 123.45") && out.contains("client_ref_id: CLI-1"), "{out}");
        let (ok, by_ref, _) = kosh(&["dmt", "transfer", "--partner", "sandbox", "--client-ref-id", "CLI-1"], &flags);
        assert!(ok && by_ref == out, "{by_ref}");
        let (ok, list, err) = kosh(&["dmt", "transfers", "--partner", "sandbox"], &flags);
        assert!(ok && list.lines().count() == 1 && list.starts_with(&tid), "{list}");
        assert!(err.contains("1 transfer(s)"), "{err}");
        let (ok, _, err) = kosh(&["dmt", "transfer", "--partner", "sandbox", "--tid", "1"], &flags);
        assert!(!ok && err.contains("has no such transfer"), "{backend:?}: {err}");
    }
}
