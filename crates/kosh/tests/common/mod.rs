//! Shared by the integration tests.

use std::sync::mpsc;
use std::sync::OnceLock;

/// A fresh PostgreSQL database URL from the test kit.
///
/// The kit's throwaway cluster is started with a parent-death signal, which Linux sends
/// when the *thread* that started the cluster exits, not the process. So the cluster is
/// started here from a thread that lives as long as the test process, whichever harness
/// thread a test happens to run on.
pub async fn fresh_database() -> String {
    static KEEPER: OnceLock<()> = OnceLock::new();
    KEEPER.get_or_init(|| {
        let (started, wait) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(kosh_testkit::fresh_database());
            started.send(()).expect("report the cluster started");
            loop {
                std::thread::park();
            }
        });
        wait.recv().expect("the PostgreSQL keeper thread started the cluster");
    });
    kosh_testkit::fresh_database().await
}
