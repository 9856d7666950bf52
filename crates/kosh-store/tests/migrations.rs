//! Schema migrations: idempotent, and safe to run from many nodes at once.

mod common;

use kosh_core::clock::ManualClock;
use kosh_store::migrate::MIGRATIONS;
use kosh_store::Store;
use kosh_testkit::{fresh_location, Backend, BACKENDS};

fn all_versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrating_twice_applies_nothing_the_second_time() {
    for backend in BACKENDS {
        let store = Store::open(fresh_location(backend).await, ManualClock::new(common::T0_MS)).await.unwrap();
        assert_eq!(store.migrate().await.unwrap(), all_versions(), "{backend:?}");
        assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new(), "{backend:?}");
        common::partner(&store, 1).await;
        // A second store on the same data finds it migrated too.
        let again = Store::open(store.location().clone(), ManualClock::new(common::T0_MS)).await.unwrap();
        assert_eq!(again.migrate().await.unwrap(), Vec::<i64>::new(), "{backend:?}");
        assert_eq!(again.partners().await.unwrap().len(), 1, "{backend:?}");
    }
}

/// Four nodes start on one fresh PostgreSQL database at once: every migration is
/// applied exactly once, and every node comes up. The race is narrow, so it is run on
/// several fresh databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrations_on_postgres_all_succeed() {
    for _round in 0..8 {
        four_nodes_migrate_one_database().await;
    }
}

async fn four_nodes_migrate_one_database() {
    let location = fresh_location(Backend::Postgres).await;
    let mut nodes = Vec::new();
    for _ in 0..4 {
        nodes.push(Store::open(location.clone(), ManualClock::new(common::T0_MS)).await.unwrap());
    }
    let runs: Vec<_> = nodes
        .into_iter()
        .map(|store| {
            tokio::spawn(async move {
                let applied = store.migrate().await;
                (store, applied)
            })
        })
        .collect();
    let mut applied = Vec::new();
    let mut stores = Vec::new();
    for run in runs {
        let (store, result) = run.await.expect("task");
        applied.extend(result.unwrap_or_else(|e| panic!("a node failed to migrate: {e}")));
        stores.push(store);
    }
    applied.sort();
    assert_eq!(applied, all_versions(), "each migration applied by exactly one node");
    for (n, store) in stores.iter().enumerate() {
        common::partner(store, n as u32).await;
    }
    assert_eq!(stores[0].partners().await.unwrap().len(), 4);
}
