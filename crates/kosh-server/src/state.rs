//! What every handler shares.

use crate::config::Config;
use crate::metrics::Metrics;
use kosh_rails::Rail;
use kosh_store::ops::partners::Partner;
use kosh_store::sql::SqlError;
use kosh_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub config: Arc<Config>,
    pub partners: Arc<PartnerCache>,
    pub metrics: Arc<Metrics>,
    /// The Echelon dialect's per-node caches and its payout rail.
    pub echelon: Arc<crate::echelon::EchelonState>,
    /// Outgoing HTTP to partners (Token Fetch Details), bounded like callbacks.
    pub outbound: crate::workers::outbound::Outbound,
    /// The connector money transfers are sent through.
    /// None outside sandbox mode: Kosh ships no real bank connector yet, and the
    /// simulator must never stand in for a bank.
    pub rail: Option<Arc<dyn Rail>>,
    /// The verification (KYC) provider; like the rail, only the sandbox one exists, so
    /// none outside sandbox mode.
    pub verifier: Option<Arc<dyn kosh_rails::verify::VerificationProvider>>,
}

impl AppState {
    pub fn now_ms(&self) -> i64 {
        self.store.now_ms()
    }
}

/// Partners by developer_key, cached briefly: every Eko request authenticates, and
/// partners change rarely. The short TTL bounds how stale another node's view can be.
pub struct PartnerCache {
    entries: Mutex<HashMap<String, (Arc<Partner>, Instant)>>,
}

const PARTNER_TTL: Duration = Duration::from_secs(5);
const MAX_CACHED_PARTNERS: usize = 10_000;

impl PartnerCache {
    pub fn new() -> PartnerCache {
        PartnerCache { entries: Mutex::new(HashMap::new()) }
    }

    pub async fn by_developer_key(&self, store: &Store, key: &str) -> Result<Option<Arc<Partner>>, SqlError> {
        if let Some((partner, at)) = self.entries.lock().expect("partner cache lock").get(key) {
            if at.elapsed() < PARTNER_TTL {
                return Ok(Some(partner.clone()));
            }
        }
        let Some(partner) = store.partner_by_developer_key(key).await? else { return Ok(None) };
        let partner = Arc::new(partner);
        let mut entries = self.entries.lock().expect("partner cache lock");
        if entries.len() >= MAX_CACHED_PARTNERS {
            entries.clear();
        }
        entries.insert(key.to_owned(), (partner.clone(), Instant::now()));
        Ok(Some(partner))
    }
}

impl Default for PartnerCache {
    fn default() -> Self {
        Self::new()
    }
}
