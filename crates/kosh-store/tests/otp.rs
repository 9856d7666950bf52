//! OTPs through `IssueOtp` / `CheckOtp` on both backends: attempts, exhaustion, expiry,
//! single use, the issue rate limit, sandbox visibility, and the same under concurrency.

mod common;

use common::{partner, store};
use kosh_core::ids::PartnerId;
use kosh_store::commands::{CheckOtp, Command, IssueOtp, Outcome, USER_MOBILE_OTP};
use kosh_store::ops::otp::{OtpCheck, OtpIssue, OtpRequest, MAX_PER_WINDOW, RATE_WINDOW_MS};
use kosh_store::Store;
use kosh_testkit::BACKENDS;
use std::sync::Arc;

const TTL_MS: i64 = 600_000;

fn request(purpose: &str, subject: &str, code: &str, sandbox_visible: bool) -> OtpRequest {
    OtpRequest {
        purpose: purpose.into(),
        subject: subject.into(),
        code: code.into(),
        ttl_ms: TTL_MS,
        max_attempts: 3,
        sandbox_visible,
    }
}

async fn issue(store: &Store, partner_id: PartnerId, req: OtpRequest) -> OtpIssue {
    match store.execute(Command::IssueOtp(IssueOtp { partner_id, request: req })).await.expect("issue") {
        Outcome::OtpIssued(issued) => issued,
        other => panic!("unexpected {other:?}"),
    }
}

async fn check(
    store: &Store,
    partner_id: PartnerId,
    purpose: &str,
    subject: &str,
    code: &str,
    otp_ref_id: Option<i64>,
) -> OtpCheck {
    let cmd = Command::CheckOtp(CheckOtp {
        partner_id,
        purpose: purpose.into(),
        subject: subject.into(),
        code: code.into(),
        otp_ref_id,
    });
    match store.execute(cmd).await.expect("check") {
        Outcome::OtpChecked(checked) => checked,
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_codes_use_up_attempts_and_persist() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        issue(&store, p, request("customer", "9000000001", "123456", false)).await;
        assert_eq!(check(&store, p, "customer", "9000000001", "000000", None).await, OtpCheck::Wrong { attempts_left: 2 });
        assert_eq!(check(&store, p, "customer", "9000000001", "111111", None).await, OtpCheck::Wrong { attempts_left: 1 });
        assert_eq!(check(&store, p, "customer", "9000000001", "123456", None).await, OtpCheck::Accepted, "{backend:?}");

        issue(&store, p, request("customer", "9000000002", "654321", false)).await;
        for left in [2, 1, 0] {
            assert_eq!(check(&store, p, "customer", "9000000002", "999999", None).await, OtpCheck::Wrong { attempts_left: left });
        }
        // Exhausted: even the right code no longer opens it.
        assert_eq!(check(&store, p, "customer", "9000000002", "654321", None).await, OtpCheck::Exhausted, "{backend:?}");
        assert_eq!(check(&store, p, "customer", "9000000003", "654321", None).await, OtpCheck::NotFound, "{backend:?}");
        assert_eq!(check(&store, p, "refund:1", "9000000002", "654321", None).await, OtpCheck::NotFound, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn otps_expire_are_single_use_and_verify_mobiles() {
    for backend in BACKENDS {
        let (store, clock) = store(backend).await;
        let p = partner(&store, 1).await;
        issue(&store, p, request("customer", "9000000001", "111111", false)).await;
        clock.advance_ms(TTL_MS);
        assert_eq!(check(&store, p, "customer", "9000000001", "111111", None).await, OtpCheck::Expired, "{backend:?}");

        let OtpIssue::Issued { otp_ref_id: first } =
            issue(&store, p, request(USER_MOBILE_OTP, "9000000009", "222222", false)).await
        else {
            panic!("{backend:?}")
        };
        issue(&store, p, request(USER_MOBILE_OTP, "9000000009", "333333", false)).await;
        assert!(!store.is_mobile_verified(p, "9000000009").await.unwrap());
        // Without a reference the newest OTP counts; with one, that OTP.
        assert_eq!(check(&store, p, USER_MOBILE_OTP, "9000000009", "222222", None).await, OtpCheck::Wrong { attempts_left: 2 });
        assert_eq!(check(&store, p, USER_MOBILE_OTP, "9000000009", "222222", Some(first)).await, OtpCheck::Accepted);
        assert_eq!(check(&store, p, USER_MOBILE_OTP, "9000000009", "222222", Some(first)).await, OtpCheck::Used, "{backend:?}");
        assert!(store.is_mobile_verified(p, "9000000009").await.unwrap(), "{backend:?}");
        assert!(!store.is_mobile_verified(p, "9000000001").await.unwrap(), "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issuing_is_rate_limited_per_subject() {
    for backend in BACKENDS {
        let (store, clock) = store(backend).await;
        let p = partner(&store, 1).await;
        for _ in 0..MAX_PER_WINDOW {
            assert!(matches!(issue(&store, p, request("customer", "9000000001", "1", false)).await, OtpIssue::Issued { .. }));
        }
        assert_eq!(issue(&store, p, request("customer", "9000000001", "1", false)).await, OtpIssue::RateLimited, "{backend:?}");
        assert!(matches!(issue(&store, p, request("customer", "9000000002", "1", false)).await, OtpIssue::Issued { .. }));
        clock.advance_ms(RATE_WINDOW_MS);
        assert!(matches!(issue(&store, p, request("customer", "9000000001", "1", false)).await, OtpIssue::Issued { .. }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_sandbox_otps_are_readable() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        issue(&store, p, request("customer", "9000000001", "424242", false)).await;
        assert_eq!(store.sandbox_otp(p, "customer", "9000000001").await.unwrap(), None, "{backend:?}: hash only");
        let OtpIssue::Issued { otp_ref_id } = issue(&store, p, request("customer", "9000000002", "515151", true)).await else {
            panic!()
        };
        let expected = Some((otp_ref_id, "515151".to_owned(), store.now_ms() + TTL_MS));
        assert_eq!(store.sandbox_otp(p, "customer", "9000000002").await.unwrap(), expected, "{backend:?}");
        assert_eq!(
            store.sandbox_otp(PartnerId::new(p.get() + 1), "customer", "9000000002").await.unwrap(),
            None,
            "{backend:?}: per partner"
        );
        check(&store, p, "customer", "9000000002", "515151", None).await;
        assert_eq!(store.sandbox_otp(p, "customer", "9000000002").await.unwrap(), None, "{backend:?}: gone once used");
    }
}

/// Many checks of one OTP at once: the right code is accepted exactly once, wrong
/// codes use up exactly the attempts there are.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checks_cannot_reuse_or_overspend_an_otp() {
    const TASKS: usize = 20;
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        for (subject, code) in [("9000000001", "777777"), ("9000000002", "000000")] {
            issue(&store, p, request("customer", subject, "777777", false)).await;
            let checks = (0..TASKS).map(|_| {
                let store = store.clone();
                tokio::spawn(async move { check(&store, p, "customer", subject, code, None).await })
            });
            let mut answers = Vec::new();
            for task in checks.collect::<Vec<_>>() {
                answers.push(task.await.expect("task"));
            }
            let count = |f: fn(&OtpCheck) -> bool| answers.iter().filter(|a| f(a)).count();
            if code == "777777" {
                assert_eq!(count(|a| *a == OtpCheck::Accepted), 1, "{backend:?}: {answers:?}");
                assert_eq!(count(|a| *a == OtpCheck::Used), TASKS - 1, "{backend:?}: {answers:?}");
            } else {
                let mut wrong: Vec<_> = answers
                    .iter()
                    .filter_map(|a| match a {
                        OtpCheck::Wrong { attempts_left } => Some(*attempts_left),
                        _ => None,
                    })
                    .collect();
                wrong.sort();
                assert_eq!(wrong, [0, 1, 2], "{backend:?}: each attempt counted once: {answers:?}");
                assert_eq!(count(|a| *a == OtpCheck::Exhausted), TASKS - 3, "{backend:?}: {answers:?}");
            }
        }
    }
}

/// Many issues for one subject at once still stop at the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_issues_respect_the_rate_limit() {
    const TASKS: i64 = 3 * MAX_PER_WINDOW;
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        let store: Arc<Store> = store;
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { issue(&store, p, request("customer", "9000000001", "1", false)).await })
            })
            .collect();
        let mut issued = 0;
        for task in tasks {
            issued += i64::from(matches!(task.await.expect("task"), OtpIssue::Issued { .. }));
        }
        assert_eq!(issued, MAX_PER_WINDOW, "{backend:?}");
    }
}
