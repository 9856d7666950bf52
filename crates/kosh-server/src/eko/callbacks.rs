//! The Eko dialect's callback bodies, rendered from the outbox's typed events when
//! they are delivered: the transaction-status callback (catalogue §4.1) and the Token
//! acknowledgement (the seed's sample). Pure functions: a retry renders the same bytes.

use crate::workers::callbacks::{Rendered, JSON};
use kosh_core::civil;
use kosh_core::collections::{CMS_SERVICE_CODE, QR_SERVICE_CODE};
use kosh_core::events::{CmsPaymentStatusChanged, LoanChanged, QrPaymentStatusChanged, TokenPaid, TransferStatusChanged};
use kosh_core::money::Paise;
use serde_json::{json, Value};

/// The status callback's body, exactly as the partner receives it.
pub fn transfer_status(e: &TransferStatusChanged) -> Rendered {
    let body = json!({
        "tx_status": e.status.code(),
        "txstatus_desc": e.status.desc(),
        "old_tx_status": e.old_status.code(),
        "old_tx_status_desc": e.old_status.desc(),
        "tid": e.tid,
        "client_ref_id": e.partner_reference,
        "amount": rupees(e.amount),
        "fee": rupees(e.fee),
        "gst": rupees(e.gst),
        "tds": rupees(e.tds),
        "commission": rupees(e.commission),
        "payment_mode": e.channel.payment_mode(),
        "channel": e.channel.code().to_string(),
        "channel_desc": e.channel.desc(),
        "beneficiary_account_type": Value::Null,
        "bank_ref_num": e.utr,
        "ifsc": e.ifsc,
        "account": e.account,
        "recipient_id": e.recipient_id,
        "recipient_name": e.recipient_name,
        "sender_name": e.sender_name,
        "customer_id": e.sender_mobile,
        "user_code": e.user_code.to_string(),
        "refund_tid": e.refund_tid,
        "reason": e.reason,
        "timestamp": civil::ist_datetime(e.at_ms),
    });
    Rendered { body: body.to_string().into_bytes(), content_type: JSON }
}

/// The status callback for a payment to a UPI QR: twice, tx_status 5 "Payment
/// Initiated" at acceptance (no old status) and the final one at settlement.
/// `client_ref_id` is the QR's (its `utility_acc_no` names the same QR).
pub fn qr_status(e: &QrPaymentStatusChanged) -> Rendered {
    let body = json!({
        "tx_status": e.status.code(),
        "txstatus_desc": e.status.desc(),
        "old_tx_status": e.old_status.map(|s| s.code()),
        "old_tx_status_desc": e.old_status.map(|s| s.desc()),
        "tid": e.tid,
        "client_ref_id": e.qr_reference,
        "amount": rupees(e.amount),
        "fee": rupees(e.fee),
        "gst": rupees(e.gst),
        "tds": rupees(e.tds),
        "partners_commision": rupees(e.commission),
        "service_code": QR_SERVICE_CODE.to_string(),
        "payment_mode": "UPI",
        "customer_vpa": e.payer_vpa,
        "bank_ref_num": e.utr,
        "sender_id": e.sender_mobile,
        "user_code": e.user_code.to_string(),
        "timestamp": civil::ist_datetime(e.at_ms),
    });
    Rendered { body: body.to_string().into_bytes(), content_type: JSON }
}

/// The status callback for a CMS (cash drop) payment, once it succeeded or failed.
pub fn cms_status(e: &CmsPaymentStatusChanged) -> Rendered {
    let body = json!({
        "tx_status": e.status.code(),
        "txstatus_desc": e.status.desc(),
        "old_tx_status": e.old_status.code(),
        "old_tx_status_desc": "Initiated",
        "tid": e.tid,
        "client_ref_id": e.partner_reference,
        "amount": rupees(e.amount),
        "fee": 0.0,
        "gst": 0.0,
        "tds": rupees(e.tds),
        "partners_commision": rupees(e.commission),
        "service_code": CMS_SERVICE_CODE.to_string(),
        "operator_id": e.biller_id,
        "operator_name": e.biller_name,
        "account": e.loan_reference,
        "user_code": e.user_code.to_string(),
        "reason": e.reason,
        "timestamp": civil::ist_datetime(e.at_ms),
    });
    Rendered { body: body.to_string().into_bytes(), content_type: JSON }
}

/// The lender's callback for a loan: disbursed, a repayment, or repaid in full. Sent
/// to the lender's status callback URL; `service` tells it from transaction callbacks.
pub fn loan_status(e: &LoanChanged) -> Rendered {
    let body = json!({
        "service": "loan",
        "event": e.change,
        "loan_id": e.loan_id,
        "client_ref_id": e.partner_reference,
        "repayment_id": e.repayment_id,
        "agent_code": e.user_code.to_string(),
        "principal": rupees(e.principal),
        "amount": rupees(e.amount),
        "outstanding": rupees(e.outstanding),
        "late": e.late,
        "timestamp": civil::ist_datetime(e.at_ms),
    });
    Rendered { body: body.to_string().into_bytes(), content_type: JSON }
}

/// The Token acknowledgement's body.
pub fn token_ack(e: &TokenPaid) -> Rendered {
    let body = json!({
        "client_ref_id": e.partner_reference,
        "amount": rupees_whole(e.amount),
        "customer_name": e.customer_name,
        "customer_id": e.customer,
        "tid": e.tid,
        "token": e.token,
    });
    Rendered { body: body.to_string().into_bytes(), content_type: JSON }
}

/// An amount as a JSON number of rupees (`120.0`), as the platform's status callbacks
/// carry them. Exact for every paise amount: the shortest decimal that reads back as
/// the same double is the two-decimal amount.
fn rupees(amount: Paise) -> Value {
    json!(amount.get() as f64 / 100.0)
}

/// Rupees as a JSON number, whole rupees without a fraction, as the seed's
/// acknowledgement sample sends them (`1500`).
fn rupees_whole(amount: Paise) -> Value {
    let paise = amount.get();
    if paise % 100 == 0 {
        json!(paise / 100)
    } else {
        json!(paise as f64 / 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kosh_core::dmt::{DmtChannel, TxStatus};
    use kosh_core::ids::{RecipientId, Tid, UserCode};

    fn paise(n: i64) -> Paise {
        Paise::new(n).unwrap()
    }

    fn changed() -> TransferStatusChanged {
        TransferStatusChanged {
            tid: Tid::new(1),
            partner_reference: "R1".into(),
            user_code: UserCode::new(20_810_200),
            old_status: TxStatus::Initiated,
            status: TxStatus::Success,
            channel: DmtChannel::Imps,
            amount: paise(12_000),
            fee: paise(1_000),
            gst: paise(153),
            commission: paise(567),
            tds: paise(11),
            utr: "123456789012".into(),
            recipient_id: RecipientId::new(7),
            recipient_name: "Ravi".into(),
            account: "123456789012".into(),
            ifsc: "SBIN0000001".into(),
            sender_name: "Asha".into(),
            sender_mobile: "9000000001".into(),
            refund_tid: None,
            reason: String::new(),
            at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn the_callback_body_has_the_platforms_fields() {
        let rendered = transfer_status(&changed());
        let body: Value = serde_json::from_slice(&rendered.body).unwrap();
        assert_eq!(body["tx_status"], 0);
        assert_eq!(body["old_tx_status_desc"], "Initiated");
        assert_eq!(body["amount"], json!(120.0));
        assert_eq!(body["fee"], json!(10.0));
        assert_eq!(body["gst"].to_string(), "1.53");
        assert_eq!(body["payment_mode"], "5");
        assert_eq!(body["timestamp"], "2023-11-15 03:43:20");
    }

    #[test]
    fn the_status_body_is_exact() {
        let rendered = transfer_status(&changed());
        let expected = "{\"account\":\"123456789012\",\"amount\":120.0,\"bank_ref_num\":\"123456789012\",\
             \"beneficiary_account_type\":null,\"channel\":\"2\",\"channel_desc\":\"IMPS\",\"client_ref_id\":\"R1\",\
             \"commission\":5.67,\"customer_id\":\"9000000001\",\"fee\":10.0,\"gst\":1.53,\"ifsc\":\"SBIN0000001\",\
             \"old_tx_status\":2,\"old_tx_status_desc\":\"Initiated\",\"payment_mode\":\"5\",\"reason\":\"\",\
             \"recipient_id\":7,\"recipient_name\":\"Ravi\",\"refund_tid\":null,\"sender_name\":\"Asha\",\"tds\":0.11,\
             \"tid\":1,\"timestamp\":\"2023-11-15 03:43:20\",\"tx_status\":0,\"txstatus_desc\":\"Success\",\
             \"user_code\":\"20810200\"}";
        assert_eq!(String::from_utf8(rendered.body).unwrap(), expected);
        assert_eq!(rendered.content_type, "application/json");
    }

    #[test]
    fn the_acknowledgement_body_is_exact() {
        let mut paid = TokenPaid {
            token: "123456789012345".into(),
            partner_reference: "T-1".into(),
            customer: "9400000000".into(),
            customer_name: "Asha".into(),
            amount: paise(150_000),
            tid: "42".into(),
        };
        let expected = "{\"amount\":1500,\"client_ref_id\":\"T-1\",\"customer_id\":\"9400000000\",\
                        \"customer_name\":\"Asha\",\"tid\":\"42\",\"token\":\"123456789012345\"}";
        assert_eq!(String::from_utf8(token_ack(&paid).body).unwrap(), expected);
        paid.amount = paise(150_050);
        let body: Value = serde_json::from_slice(&token_ack(&paid).body).unwrap();
        assert_eq!(body["amount"], json!(1500.5));
    }
}
