//! Agent services: the catalogue of service codes an agent can have activated, and the
//! pending → activated lifecycle of an activation.

use serde::{Deserialize, Serialize};

/// One service an agent can be activated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ServiceInfo {
    /// The service code partners use (`service_code`).
    pub code: u16,
    /// The service's name as the enquiry shows it.
    pub name: &'static str,
    /// Whether activation waits for the operations team's document review (the real
    /// platform takes 1–3 business days); others activate at once.
    pub needs_review: bool,
}

/// Domestic money transfer. The platform lets every onboarded agent use DMT without
/// activating it; Kosh lists it (code 10 is Kosh's choice, the vendor documents none) so
/// that a partner can deactivate it for an agent, after which transfers answer 346.
pub const DMT_SERVICE_CODE: u16 = 10;

/// The services of `seeds/002_*`, by code.
pub const SERVICES: &[ServiceInfo] = &[
    ServiceInfo { code: 4, name: "PAN Verification", needs_review: false },
    ServiceInfo { code: DMT_SERVICE_CODE, name: "Domestic Money Transfer (DMT)", needs_review: false },
    ServiceInfo { code: 39, name: "AePS Fund Settlement", needs_review: false },
    ServiceInfo { code: 43, name: "AePS (Fingpay) and AePS Gateway", needs_review: true },
    ServiceInfo { code: 45, name: "Vendor Payments (Fund Transfer / Payout)", needs_review: false },
    ServiceInfo { code: 51, name: "Aadhaar Pay", needs_review: true },
    ServiceInfo { code: 52, name: "AePS (Fino)", needs_review: true },
    ServiceInfo { code: 53, name: "BBPS Bill Payments", needs_review: false },
    ServiceInfo { code: 58, name: "Airtel CMS (Cash Drop)", needs_review: false },
    ServiceInfo { code: 59, name: "UPI Static QR", needs_review: false },
    ServiceInfo { code: 63, name: "Credit Card Bill Payment", needs_review: false },
];

/// The catalogue entry for `code`; `None` for a code Kosh does not know.
pub fn service(code: u16) -> Option<&'static ServiceInfo> {
    SERVICES.iter().find(|s| s.code == code)
}

/// `status` in the service enquiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceStatus {
    /// Switched off for the agent.
    Deactivated = 0,
    /// The agent may use the service.
    Activated = 1,
    /// Asked for; awaiting the operations team's review.
    Pending = 2,
}

impl ServiceStatus {
    /// The status for its stored code.
    pub fn from_code(code: i64) -> Option<ServiceStatus> {
        match code {
            0 => Some(Self::Deactivated),
            1 => Some(Self::Activated),
            2 => Some(Self::Pending),
            _ => None,
        }
    }

    /// `status_desc` as the platform spells it.
    pub fn desc(self) -> &'static str {
        match self {
            Self::Deactivated => "DEACTIVATED",
            Self::Activated => "ACTIVATED",
            Self::Pending => "PENDING",
        }
    }
}

/// `verification_status`: what the operations team did with the documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VerificationStatus {
    /// The service needs no documents.
    NotApplicable = 0,
    /// The documents were accepted.
    Verified = 1,
    /// The documents were rejected; the service stays off.
    Rejected = 2,
    /// The documents await review.
    Pending = 3,
}

impl VerificationStatus {
    /// The verification status for its stored code.
    pub fn from_code(code: i64) -> Option<VerificationStatus> {
        match code {
            0 => Some(Self::NotApplicable),
            1 => Some(Self::Verified),
            2 => Some(Self::Rejected),
            3 => Some(Self::Pending),
            _ => None,
        }
    }
}

/// An agent's standing for one service, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentService {
    /// Which service (a code of [`SERVICES`]).
    pub service_code: u16,
    /// Whether the agent may use it (as stored; see [`AgentService::at`]).
    pub status: ServiceStatus,
    /// Where the document review stands.
    pub verification: VerificationStatus,
    /// When a pending review completes by itself (the sandbox's stand-in for the
    /// operations team). `None` when nothing is pending.
    pub review_done_at_ms: Option<i64>,
    /// What the operations team said (or why the request was refused); empty when nothing was said.
    pub comments: String,
    /// When the agent first asked for the service (ms since the epoch).
    pub created_at_ms: i64,
    /// When the status last changed (ms since the epoch).
    pub updated_at_ms: i64,
}

impl AgentService {
    /// The standing at `now_ms`: a pending review whose time has come reads as
    /// activated and verified, so the lifecycle needs no background job to advance.
    pub fn at(&self, now_ms: i64) -> AgentService {
        match self.review_done_at_ms {
            Some(done) if self.status == ServiceStatus::Pending && done <= now_ms => AgentService {
                status: ServiceStatus::Activated,
                verification: VerificationStatus::Verified,
                review_done_at_ms: None,
                updated_at_ms: done,
                ..self.clone()
            },
            _ => self.clone(),
        }
    }

    /// Whether the agent may use the service at `now_ms`.
    pub fn is_active_at(&self, now_ms: i64) -> bool {
        self.at(now_ms).status == ServiceStatus::Activated
    }
}

/// What an activation request does to an agent's standing for a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activation {
    /// Already activated (or pending): nothing changes.
    Unchanged(AgentService),
    /// A new or renewed standing to store.
    Store(AgentService),
}

/// Decides an activation request at `now_ms`; services that need review become
/// pending for `review_ms`.
pub fn activate(current: Option<&AgentService>, info: &ServiceInfo, now_ms: i64, review_ms: i64) -> Activation {
    if let Some(cur) = current.map(|c| c.at(now_ms)) {
        if cur.status != ServiceStatus::Deactivated {
            return Activation::Unchanged(cur);
        }
    }
    let created_at_ms = current.map_or(now_ms, |c| c.created_at_ms);
    let pending = info.needs_review && review_ms > 0;
    Activation::Store(AgentService {
        service_code: info.code,
        status: if pending { ServiceStatus::Pending } else { ServiceStatus::Activated },
        verification: match (info.needs_review, pending) {
            (false, _) => VerificationStatus::NotApplicable,
            (true, true) => VerificationStatus::Pending,
            (true, false) => VerificationStatus::Verified,
        },
        review_done_at_ms: pending.then_some(now_ms + review_ms),
        comments: String::new(),
        created_at_ms,
        updated_at_ms: now_ms,
    })
}

/// Deactivates a service: the agent must activate (upload documents) again.
pub fn deactivate(current: &AgentService, now_ms: i64) -> AgentService {
    AgentService {
        status: ServiceStatus::Deactivated,
        verification: VerificationStatus::NotApplicable,
        review_done_at_ms: None,
        updated_at_ms: now_ms,
        ..current.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviewed_services_go_pending_then_activate_by_time() {
        let aeps = service(43).unwrap();
        let Activation::Store(pending) = activate(None, aeps, 1_000, 10_000) else { panic!("new activation stores") };
        assert_eq!(pending.status, ServiceStatus::Pending);
        assert_eq!(pending.verification, VerificationStatus::Pending);
        assert!(!pending.is_active_at(10_999));
        assert!(pending.is_active_at(11_000));
        assert_eq!(pending.at(11_000).verification, VerificationStatus::Verified);
        assert!(matches!(activate(Some(&pending), aeps, 2_000, 10_000), Activation::Unchanged(_)));
    }

    #[test]
    fn plain_services_activate_at_once() {
        let Activation::Store(s) = activate(None, service(45).unwrap(), 5, 10_000) else { panic!() };
        assert_eq!((s.status, s.verification), (ServiceStatus::Activated, VerificationStatus::NotApplicable));
    }

    #[test]
    fn a_deactivated_service_can_be_activated_again() {
        let Activation::Store(s) = activate(None, service(53).unwrap(), 5, 0) else { panic!() };
        let off = deactivate(&s, 10);
        assert!(!off.is_active_at(20));
        let Activation::Store(again) = activate(Some(&off), service(53).unwrap(), 30, 0) else { panic!() };
        assert!(again.is_active_at(30));
        assert_eq!(again.created_at_ms, 5);
    }

    #[test]
    fn unknown_codes_are_not_services() {
        assert!(service(999).is_none());
        assert!(service(0).is_none());
    }
}
