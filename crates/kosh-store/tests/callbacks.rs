//! The callback engine's storage on both backends: claims take only due deliverable
//! events under a lease, at most so many per partner; a lost lease cannot record;
//! concurrent claimers never share an event; replay re-queues only what gave up;
//! producers store typed events, never a dialect's wire format.

mod common;

use common::{partner, store};
use kosh_core::events::{Event, TokenPaid};
use kosh_core::ids::PartnerId;
use kosh_core::money::Paise;
use kosh_store::commands::callbacks::{CallbackCommand, CallbackOutcome, Enqueue, PruneAttempts, Replay};
use kosh_store::commands::tokens::{CreateToken, PayToken, TokenCommand, TokenOutcome};
use kosh_store::commands::{Command, Outcome};
use kosh_store::error::{CommandError, Rejection};
use kosh_store::ops::callbacks::{Attempt, ClaimRequest, Claimed, EventFilter, Finish, Next, TOKEN_ACK, TX_STATUS};
use kosh_store::ops::tokens::{NewToken, Payment};
use kosh_store::Store;
use kosh_testkit::BACKENDS;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

const LEASE_MS: i64 = 60_000;

/// Queues an event: deliverable kinds by hand, internal ones through a wallet credit.
async fn append(store: &Store, partner_id: PartnerId, kind: &str, n: i64) -> i64 {
    if kind == "wallet.credited" {
        common::credit(store, partner_id, 100).await;
        return store.recent_outbox(partner_id, 1).await.unwrap()[0].id;
    }
    let payload_json = json!({ "n": n }).to_string();
    let cmd = CallbackCommand::Enqueue(Enqueue { partner_id, kind: kind.into(), payload_json });
    match store.execute(Command::Callbacks(cmd)).await.expect("enqueue") {
        Outcome::Callbacks(CallbackOutcome::Enqueued(id)) => id,
        other => panic!("unexpected {other:?}"),
    }
}

async fn claim(store: &Store, token: &str, limit: i64, per_partner: i64, exclude: Vec<PartnerId>) -> Vec<Claimed> {
    let req = ClaimRequest {
        lease_until_ms: store.now_ms() + LEASE_MS,
        lease_token: token.into(),
        limit,
        per_partner,
        exclude_partners: exclude,
    };
    match store.execute(Command::Callbacks(CallbackCommand::Claim(req))).await.expect("claim") {
        Outcome::Callbacks(CallbackOutcome::Claimed(c)) => c,
        other => panic!("unexpected {other:?}"),
    }
}

fn attempt(store: &Store, status: i64) -> Attempt {
    Attempt {
        started_at_ms: store.now_ms(),
        url: "http://127.0.0.1:9/cb".into(),
        request_body: "{}".into(),
        response_status: Some(status),
        response_excerpt: Some("ok".into()),
        latency_ms: 3,
        error: None,
        succeeded: status == 200,
    }
}

async fn finish(store: &Store, id: i64, token: &str, next: Next, status: i64) -> bool {
    let f = Finish { id, lease_token: token.into(), attempt: Some(attempt(store, status)), next, error: None, token_ack: None };
    match store.execute(Command::Callbacks(CallbackCommand::Finish(f))).await.expect("finish") {
        Outcome::Callbacks(CallbackOutcome::Finished { applied }) => applied,
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claims_take_due_deliverable_events_under_a_lease() {
    for backend in BACKENDS {
        let (store, clock) = store(backend).await;
        let p = partner(&store, 1).await;
        append(&store, p, "wallet.credited", 0).await;
        let a = append(&store, p, TX_STATUS, 1).await;
        let b = append(&store, p, TOKEN_ACK, 2).await;

        let first = claim(&store, "node-a", 10, 10, vec![]).await;
        assert_eq!(first.iter().map(|c| c.id).collect::<Vec<_>>(), [a, b], "{backend:?}: internal events are never claimed");
        assert!(claim(&store, "node-b", 10, 10, vec![]).await.is_empty(), "{backend:?}: leased events are not claimed again");

        // node-a "crashes"; once its lease runs out node-b takes the events over, and a
        // late answer from node-a records nothing.
        clock.advance_ms(LEASE_MS);
        let second = claim(&store, "node-b", 10, 10, vec![]).await;
        assert_eq!(second.len(), 2, "{backend:?}");
        assert!(!finish(&store, a, "node-a", Next::Delivered, 200).await, "{backend:?}: a lost lease cannot record");
        assert!(finish(&store, a, "node-b", Next::Delivered, 200).await, "{backend:?}");
        clock.advance_ms(1_000);
        assert!(finish(&store, b, "node-b", Next::RetryAt(store.now_ms() + 5_000), 500).await, "{backend:?}");

        let event_a = store.callback_event(a).await.unwrap().unwrap();
        assert_eq!((event_a.state.as_str(), event_a.attempts), ("delivered", 1), "{backend:?}");
        assert!(claim(&store, "node-b", 10, 10, vec![]).await.is_empty(), "{backend:?}: the retry is not due yet");
        clock.advance_ms(5_000);
        let third = claim(&store, "node-c", 10, 10, vec![]).await;
        assert_eq!((third.len(), third[0].id, third[0].attempts, third[0].cycle_attempts), (1, b, 1, 1), "{backend:?}");

        let attempts = store.callback_attempts(a).await.unwrap();
        assert_eq!(attempts.len(), 1, "{backend:?}");
        assert_eq!((attempts[0].attempt_no, attempts[0].attempt.response_status), (1, Some(200)), "{backend:?}");
        let listed =
            store.callback_events(&EventFilter { partner_id: Some(p), limit: 10, ..EventFilter::default() }).await.unwrap();
        assert_eq!(listed.len(), 2, "{backend:?}: listings show deliverable events unless asked");
        let all = EventFilter { partner_id: Some(p), include_internal: true, limit: 10, ..EventFilter::default() };
        assert_eq!(store.callback_events(&all).await.unwrap().len(), 3, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_takes_at_most_so_many_per_partner_and_skips_excluded_ones() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let (busy, quiet) = (partner(&store, 1).await, partner(&store, 2).await);
        for n in 0..20 {
            append(&store, busy, TX_STATUS, n).await;
        }
        let quiet_event = append(&store, quiet, TX_STATUS, 99).await;
        let claimed = claim(&store, "w", 10, 3, vec![]).await;
        let of = |p: PartnerId| claimed.iter().filter(|c| c.partner_id == p).count();
        assert_eq!((of(busy), of(quiet)), (3, 1), "{backend:?}: one partner's backlog does not hide another's events");

        let more = claim(&store, "w", 10, 3, vec![busy]).await;
        assert!(more.is_empty(), "{backend:?}: the quiet partner's event is leased, the busy one excluded");
        let _ = quiet_event;
    }
}

/// Eight claimers race over 300 events on PostgreSQL (SKIP LOCKED) and on SQLite (one
/// writer): every event is claimed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_share_an_event() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        let q = partner(&store, 2).await;
        for n in 0..150 {
            append(&store, p, TX_STATUS, n).await;
            append(&store, q, TOKEN_ACK, n).await;
        }
        let mut tasks = Vec::new();
        for worker in 0..8 {
            let store: Arc<Store> = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for _ in 0..200 {
                    let got = claim(&store, &format!("w{worker}"), 7, 4, vec![]).await;
                    if got.is_empty() && !store.callbacks_due().await.unwrap() {
                        break;
                    }
                    mine.extend(got.into_iter().map(|c| c.id));
                }
                mine
            }));
        }
        let mut seen = HashSet::new();
        let mut total = 0;
        for task in tasks {
            for id in task.await.unwrap() {
                total += 1;
                assert!(seen.insert(id), "{backend:?}: event {id} was claimed twice");
            }
        }
        assert_eq!((total, seen.len()), (300, 300), "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_events_that_gave_up_can_be_replayed() {
    for backend in BACKENDS {
        let (store, clock) = store(backend).await;
        let p = partner(&store, 1).await;
        let internal = append(&store, p, "wallet.credited", 0).await;
        let e = append(&store, p, TX_STATUS, 1).await;
        let replay = |id: i64| store.execute(Command::Callbacks(CallbackCommand::Replay(Replay { id })));
        let refused = |r: Result<Outcome, CommandError>| match r {
            Err(CommandError::Rejected(Rejection::CallbackNotReplayable(why))) => why,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(refused(replay(internal).await).contains("internal"), "{backend:?}");
        assert!(refused(replay(e).await).contains("pending"), "{backend:?}");
        assert!(matches!(replay(12345).await, Err(CommandError::Rejected(Rejection::CallbackNotFound))), "{backend:?}");

        claim(&store, "w", 10, 10, vec![]).await;
        assert!(finish(&store, e, "w", Next::GiveUp, 500).await);
        clock.advance_ms(10_000);
        let Outcome::Callbacks(CallbackOutcome::Replayed(event)) = replay(e).await.unwrap() else { panic!() };
        assert_eq!(
            (event.state.as_str(), event.due_at_ms, event.cycle_started_at_ms),
            ("pending", store.now_ms(), Some(store.now_ms()))
        );
        let again = claim(&store, "w", 10, 10, vec![]).await;
        assert_eq!((again[0].attempts, again[0].cycle_attempts), (1, 0), "{backend:?}: a fresh cycle, the history kept");
        assert!(finish(&store, e, "w", Next::Delivered, 200).await);
        assert!(refused(replay(e).await).contains("delivered"), "{backend:?}");
    }
}

async fn prune(store: &Store, before_ms: i64, limit: i64) -> u64 {
    match store
        .execute(Command::Callbacks(CallbackCommand::PruneAttempts(PruneAttempts { before_ms, limit })))
        .await
        .expect("prune")
    {
        Outcome::Callbacks(CallbackOutcome::Pruned(n)) => n,
        other => panic!("unexpected {other:?}"),
    }
}

/// Records one failed attempt of `id` at the clock's time, leaving it due again at once.
async fn fail_once(store: &Store, id: i64) {
    let claimed = claim(store, "w", 1, 1, vec![]).await;
    assert_eq!(claimed.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
    assert!(finish(store, id, "w", Next::RetryAt(store.now_ms()), 500).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_attempts_are_pruned_oldest_first_in_bounded_batches() {
    const DAY: i64 = 86_400_000;
    for backend in BACKENDS {
        let (store, clock) = store(backend).await;
        let p = partner(&store, 1).await;
        let old = append(&store, p, TX_STATUS, 1).await;
        for _ in 0..25 {
            fail_once(&store, old).await;
            clock.advance_ms(1_000);
        }
        clock.advance_ms(10 * DAY);
        let recent = append(&store, p, TX_STATUS, 2).await;
        claim(&store, "w", 10, 10, vec![]).await;
        assert!(finish(&store, old, "w", Next::Delivered, 200).await);
        assert!(finish(&store, recent, "w", Next::Delivered, 200).await);

        let cutoff = store.now_ms() - DAY;
        assert_eq!(
            [prune(&store, cutoff, 10).await, prune(&store, cutoff, 10).await, prune(&store, cutoff, 10).await],
            [10, 10, 5],
            "{backend:?}: at most the limit per batch"
        );
        assert_eq!(prune(&store, cutoff, 10).await, 0, "{backend:?}: nothing older is left");
        let kept: Vec<i64> = store.callback_attempts(old).await.unwrap().iter().map(|a| a.attempt_no).collect();
        assert_eq!(kept, [26], "{backend:?}: the old event's recent attempt stays");
        assert_eq!(store.callback_attempts(recent).await.unwrap().len(), 1, "{backend:?}");
        let event = store.callback_event(old).await.unwrap().unwrap();
        assert_eq!((event.state.as_str(), event.attempts), ("delivered", 26), "{backend:?}: the event itself is kept");
        assert_eq!(prune(&store, i64::MAX, 1_000_000).await, 2, "{backend:?}: a limit is clamped, not refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_producer_stores_a_typed_event_without_wire_field_names() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let issuer = partner(&store, 1).await;
        let payer = partner(&store, 2).await;
        common::credit(&store, payer, 1_000_000).await;
        let user_code = common::agent(&store, payer, "ABCDE1234F", "9876500001").await;
        let token = NewToken {
            client_ref_id: "CR-TYPED".into(),
            product_code: String::new(),
            customer_id: "9400000000".into(),
            customer_name: "Ram".into(),
            email: String::new(),
            amount_paise: Paise::new(150_050).unwrap(),
            label: String::new(),
            display_items: "[]".into(),
            expires_at_ms: store.now_ms() + 60_000,
        };
        let create = Command::Token(TokenCommand::Create(CreateToken { partner_id: issuer, token }));
        let Outcome::Token(created) = store.execute(create).await.unwrap() else { panic!("{backend:?}") };
        let TokenOutcome::Created(token) = *created else { panic!("{backend:?}") };
        let payment = Payment {
            payer_partner_id: payer,
            user_code,
            pay_client_ref_id: "PAY-TYPED".into(),
            amount_paise: Paise::new(150_050).unwrap(),
            customer_name: "Ram Kumar".into(),
            customer_mobile: "9400000000".into(),
        };
        let Outcome::Token(paid) =
            store.execute(Command::Token(TokenCommand::Pay(PayToken { token: token.token.clone(), payment }))).await.unwrap()
        else {
            panic!("{backend:?}")
        };
        let TokenOutcome::Paid { token: paid, .. } = *paid else { panic!("{backend:?}") };

        let ack = store.recent_outbox(issuer, 10).await.unwrap().into_iter().find(|e| e.kind == TOKEN_ACK).expect("queued");
        let expected = Event::TokenPaid(TokenPaid {
            token: token.token.clone(),
            partner_reference: "CR-TYPED".into(),
            customer: "9400000000".into(),
            customer_name: "Ram Kumar".into(),
            amount: Paise::new(150_050).unwrap(),
            tid: paid.tid.clone().expect("a paid token has a tid"),
        });
        assert_eq!(Event::from_payload(&ack.payload), Ok(Some(expected)), "{backend:?}: {}", ack.payload);
        for wire in kosh_core::events::DIALECT_FIELD_NAMES {
            assert!(ack.payload.get(wire).is_none(), "{backend:?}: {wire} in {}", ack.payload);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_typed_event_queued_by_hand_must_parse_and_match_its_kind() {
    for backend in BACKENDS {
        let (store, _clock) = store(backend).await;
        let p = partner(&store, 1).await;
        let paid = json!({"kind": "token.paid.v1", "token": "1", "partner_reference": "R", "customer": "9400000000",
                          "customer_name": "A", "amount": 100, "tid": "7"});
        let enqueue = |kind: &str, payload: &serde_json::Value| {
            CallbackCommand::Enqueue(Enqueue { partner_id: p, kind: kind.into(), payload_json: payload.to_string() })
        };
        let queued = store.execute(Command::Callbacks(enqueue(TOKEN_ACK, &paid))).await;
        assert!(matches!(queued, Ok(Outcome::Callbacks(CallbackOutcome::Enqueued(_)))), "{backend:?}: {queued:?}");
        for (kind, payload, message) in [
            (TX_STATUS, paid.clone(), "is queued as token.ack"),
            (TOKEN_ACK, json!({"kind": "token.paid.v1", "token": "1"}), "malformed"),
        ] {
            match store.execute(Command::Callbacks(enqueue(kind, &payload))).await {
                Err(CommandError::Rejected(Rejection::InvalidCallbackConfig(why))) => {
                    assert!(why.contains(message), "{backend:?}: {why}")
                }
                other => panic!("{backend:?}: {payload} as {kind}: {other:?}"),
            }
        }
    }
}
