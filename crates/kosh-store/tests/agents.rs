//! Agent onboarding and service activation on both backends.

mod common;

use common::{agent, new_agent, partner, rejection, store};
use kosh_core::ids::{PartnerId, UserCode};
use kosh_core::services::{ServiceStatus, VerificationStatus};
use kosh_store::commands::{ActivateService, Command, DeactivateService, OnboardAgent, Outcome};
use kosh_store::error::Rejection;
use kosh_store::ops::agents::Onboarded;
use kosh_store::Store;
use kosh_testkit::BACKENDS;
use std::collections::HashSet;

async fn onboard(store: &Store, partner_id: PartnerId, pan: &str, mobile: &str) -> Result<Onboarded, Rejection> {
    match store.execute(Command::OnboardAgent(OnboardAgent { partner_id, agent: new_agent(pan, mobile) })).await {
        Ok(Outcome::AgentOnboarded(o)) => Ok(o),
        other => Err(rejection(other)),
    }
}

fn activate(partner_id: PartnerId, user_code: UserCode, service_code: u16) -> Command {
    Command::ActivateService(ActivateService {
        partner_id,
        user_code,
        service_code,
        review_ms: 60_000,
        details_json: "{}".into(),
    })
}

async fn activation(store: &Store, cmd: Command) -> (ServiceStatus, bool) {
    match store.execute(cmd).await.expect("activate") {
        Outcome::ServiceActivation { service, changed } => (service.status, changed),
        other => panic!("unexpected {other:?}"),
    }
}

/// The PAN is the person: onboarding it again answers the same agent. A mobile belongs
/// to one agent per partner; another partner may use it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn onboarding_is_keyed_by_pan_and_mobiles_are_unique() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let (p, q) = (partner(&store, 1).await, partner(&store, 2).await);
        let first = onboard(&store, p, "ABCDE1234F", "9800000001").await.unwrap();
        assert!(first.created, "{backend:?}");
        let again = onboard(&store, p, "ABCDE1234F", "9800000099").await.unwrap();
        assert_eq!((again.agent.user_code, again.created), (first.agent.user_code, false), "{backend:?}");
        assert_eq!(again.agent.mobile, "9800000001", "{backend:?}: the stored agent, unchanged");
        assert_eq!(onboard(&store, p, "ZZZZZ9999Z", "9800000001").await, Err(Rejection::AgentMobileTaken), "{backend:?}");
        let elsewhere = onboard(&store, q, "ZZZZZ9999Z", "9800000001").await.unwrap();
        assert!(elsewhere.created && elsewhere.agent.user_code != first.agent.user_code, "{backend:?}");
        assert_eq!(store.agent(q, first.agent.user_code).await.unwrap(), None, "{backend:?}: agents are per partner");
        assert_eq!(
            onboard(&store, PartnerId::new(9_999), "QQQQQ1111Q", "9800000002").await,
            Err(Rejection::PartnerNotFound),
            "{backend:?}"
        );
    }
}

/// A service that needs review (43) is pending until its review time passes on the
/// clock; one that does not (45) is active at once; an unknown code is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn services_activate_at_once_or_after_review() {
    for backend in BACKENDS {
        let (store, clock) = store(backend).await;
        let p = partner(&store, 1).await;
        let user = agent(&store, p, "ABCDE1234F", "9800000001").await;
        assert_eq!(activation(&store, activate(p, user, 43)).await, (ServiceStatus::Pending, true), "{backend:?}");
        assert_eq!(activation(&store, activate(p, user, 45)).await, (ServiceStatus::Activated, true), "{backend:?}");
        assert_eq!(activation(&store, activate(p, user, 43)).await, (ServiceStatus::Pending, false), "{backend:?}");

        let stored = store.agent_service(p, user, 43).await.unwrap().expect("stored");
        assert_eq!((stored.status, stored.verification), (ServiceStatus::Pending, VerificationStatus::Pending));
        clock.advance_ms(59_999);
        assert!(!stored.is_active_at(store.now_ms()), "{backend:?}");
        clock.advance_ms(1);
        let now = stored.at(store.now_ms());
        assert_eq!((now.status, now.verification), (ServiceStatus::Activated, VerificationStatus::Verified), "{backend:?}");
        assert_eq!(activation(&store, activate(p, user, 43)).await, (ServiceStatus::Activated, false), "{backend:?}");
        let codes: Vec<u16> = store.agent_services(p, user).await.unwrap().iter().map(|s| s.service_code).collect();
        assert_eq!(codes, [43, 45], "{backend:?}");

        assert_eq!(rejection(store.execute(activate(p, user, 999)).await), Rejection::UnknownService(999), "{backend:?}");
        assert_eq!(
            rejection(store.execute(activate(p, UserCode::new(user.get() + 1), 45)).await),
            Rejection::AgentNotFound,
            "{backend:?}"
        );
        let off = Command::DeactivateService(DeactivateService { partner_id: p, user_code: user, service_code: 45 });
        assert!(
            matches!(store.execute(off).await.unwrap(), Outcome::ServiceDeactivated(s) if s.status == ServiceStatus::Deactivated)
        );
        let never = Command::DeactivateService(DeactivateService { partner_id: p, user_code: user, service_code: 53 });
        assert_eq!(rejection(store.execute(never).await), Rejection::ServiceNotActive, "{backend:?}");
        let events = store.recent_outbox(p, 10).await.unwrap();
        assert_eq!(events.len(), 3, "{backend:?}: one event per change (43, 45, 45 off), none for no-ops");
        assert!(events.iter().all(|e| e.kind == "agent.service_changed"), "{backend:?}");
    }
}

/// 20 agents onboarded at once get 20 distinct user codes (one counter row, taken in
/// turn); 10 onboardings of one PAN at once create it once (on PostgreSQL the losers
/// hit the unique key and are retried).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_onboarding_yields_distinct_user_codes() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { onboard(&store, p, &format!("ABCDE{i:04}F"), &format!("98000000{i:02}")).await })
            })
            .collect();
        let mut codes = HashSet::new();
        for task in tasks {
            let onboarded = task.await.expect("task").unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            assert!(onboarded.created, "{backend:?}");
            codes.insert(onboarded.agent.user_code);
        }
        assert_eq!(codes.len(), 20, "{backend:?}");

        let same: Vec<_> = (0..10)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { onboard(&store, p, "SAMEP1234N", "9811111111").await })
            })
            .collect();
        let mut created = 0;
        let mut same_codes = HashSet::new();
        for task in same {
            let onboarded = task.await.expect("task").unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            created += usize::from(onboarded.created);
            same_codes.insert(onboarded.agent.user_code);
        }
        assert_eq!((created, same_codes.len()), (1, 1), "{backend:?}");
    }
}
