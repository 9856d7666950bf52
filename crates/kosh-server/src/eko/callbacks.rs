//! The Eko dialect's callback bodies, rendered from the outbox's typed events when
//! they are delivered: the transaction-status callback (catalogue §4.1) and the Token
//! acknowledgement (the seed's sample). Pure functions: a retry renders the same bytes.

use crate::workers::callbacks::{Rendered, JSON};
use kosh_core::civil;
use kosh_core::collections::{CMS_SERVICE_CODE, QR_SERVICE_CODE};
use kosh_core::events::{
    BillPaymentStatusChanged, CmsPaymentStatusChanged, LoanChanged, PayoutStatusChanged, QrPaymentStatusChanged, TokenPaid,
    TransferStatusChanged,
};
use kosh_core::ids::Tid;
use kosh_core::money::Paise;
use serde_json::{json, Map, Value};

/// What the common v3 transaction status callback (docs "Transaction Status Callback")
/// says, whatever the product (DMT, fund transfer, QR, CMS, BBPS): each product's event
/// fills one and renders it with [`status_callback`] (or extends [`status_body`]). The
/// platform's rule — sent only when a transaction moves from initiated to success or
/// failed — is [`kosh_core::events::status_callback_due`], applied where the event is
/// produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCallback<'a> {
    /// `tx_status`: 0 success, 1 failed, 2 initiated, 3 refund pending, 4 refunded, 5 hold.
    pub tx_status: i64,
    pub txstatus_desc: &'a str,
    pub tid: Tid,
    /// The partner's own reference.
    pub client_ref_id: &'a str,
    pub amount: Paise,
    pub fee: Paise,
    pub gst: Paise,
    /// The platform's payment mode code as text (`"5"` for IMPS).
    pub payment_mode: &'a str,
    /// `null` when the product has no beneficiary account type.
    pub beneficiary_account_type: Option<&'a str>,
    /// The bank's reference (UTR/RRN); empty until settled.
    pub bank_ref_num: &'a str,
    pub ifsc: &'a str,
    pub account: &'a str,
    pub recipient_name: &'a str,
    pub sender_name: &'a str,
    /// When the status changed (rendered `yyyy-MM-dd HH:mm:ss`, IST).
    pub at_ms: i64,
}

/// The common callback's fields, as the docs' sample has them: amounts as JSON numbers
/// of rupees, `tid` and `tx_status` as numbers.
pub fn status_body(s: &StatusCallback<'_>) -> Map<String, Value> {
    let body = json!({
        "tx_status": s.tx_status,
        "txstatus_desc": s.txstatus_desc,
        "tid": s.tid,
        "client_ref_id": s.client_ref_id,
        "amount": rupees(s.amount),
        "fee": rupees(s.fee),
        "gst": rupees(s.gst),
        "payment_mode": s.payment_mode,
        "beneficiary_account_type": s.beneficiary_account_type,
        "bank_ref_num": s.bank_ref_num,
        "ifsc": s.ifsc,
        "account": s.account,
        "recipient_name": s.recipient_name,
        "sender_name": s.sender_name,
        "timestamp": civil::ist_datetime(s.at_ms),
    });
    match body {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// The common status callback, exactly as the partner receives it.
pub fn status_callback(s: &StatusCallback<'_>) -> Rendered {
    Rendered { body: Value::Object(status_body(s)).to_string().into_bytes(), content_type: JSON }
}

/// A DMT transfer's status change in the common callback's terms.
pub fn transfer_callback(e: &TransferStatusChanged) -> StatusCallback<'_> {
    StatusCallback {
        tx_status: e.status.code(),
        txstatus_desc: e.status.desc(),
        tid: e.tid,
        client_ref_id: &e.partner_reference,
        amount: e.amount,
        fee: e.fee,
        gst: e.gst,
        payment_mode: e.channel.payment_mode(),
        beneficiary_account_type: None,
        bank_ref_num: &e.utr,
        ifsc: &e.ifsc,
        account: &e.account,
        recipient_name: &e.recipient_name,
        sender_name: &e.sender_name,
        at_ms: e.at_ms,
    }
}

/// A DMT transfer's status callback: the common body plus what DMT partners also get
/// (the status it left, charges, channel, recipient and refund ids).
pub fn transfer_status(e: &TransferStatusChanged) -> Rendered {
    let mut body = status_body(&transfer_callback(e));
    let extra = json!({
        "old_tx_status": e.old_status.code(),
        "old_tx_status_desc": e.old_status.desc(),
        "tds": rupees(e.tds),
        "commission": rupees(e.commission),
        "channel": e.channel.code().to_string(),
        "channel_desc": e.channel.desc(),
        "recipient_id": e.recipient_id,
        "customer_id": e.sender_mobile,
        "user_code": e.user_code.to_string(),
        "refund_tid": e.refund_tid,
        "reason": e.reason,
    });
    if let Value::Object(extra) = extra {
        body.extend(extra);
    }
    Rendered { body: Value::Object(body).to_string().into_bytes(), content_type: JSON }
}

/// The status callback's body for a bill payment: the common fields of the platform's
/// callback (one URL for every product), with the biller's reference as
/// `bank_ref_num` and, like the QR and CMS callbacks, `service_code` and the operator.
pub fn bill_payment_status(e: &BillPaymentStatusChanged) -> Rendered {
    let service_code = match e.payment_kind {
        kosh_core::bbps::PaymentKind::Bill => kosh_core::bbps::BBPS_SERVICE_CODE,
        kosh_core::bbps::PaymentKind::CreditCard => kosh_core::bbps::CREDIT_CARD_SERVICE_CODE,
    };
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
        "service_code": service_code.to_string(),
        "operator_id": e.operator_id,
        "operator_name": e.operator_name,
        "utility_acc_no": e.account,
        "account": e.account,
        "bank_ref_num": e.biller_reference,
        "beneficiary_account_type": Value::Null,
        "sender_name": e.sender_name,
        "customer_id": e.customer_mobile,
        "user_code": e.user_code.to_string(),
        "reason": e.reason,
        "timestamp": civil::ist_datetime(e.at_ms),
    });
    Rendered { body: body.to_string().into_bytes(), content_type: JSON }
}

/// The common status callback's body for a payout (fund transfer, UPI payment), with
/// the fields of the v3 docs' "Transaction Status Callback" sample.
pub fn payout_status(e: &PayoutStatusChanged) -> Rendered {
    let body = json!({
        "tx_status": e.status.code(),
        "amount": rupees(e.amount),
        "payment_mode": e.mode.code(),
        "txstatus_desc": e.status.desc().to_uppercase(),
        "fee": rupees(e.fee),
        "gst": rupees(e.gst),
        "sender_name": e.sender_name,
        "tid": e.tid,
        "beneficiary_account_type": e.account_type,
        "client_ref_id": e.partner_reference,
        "bank_ref_num": e.utr,
        "ifsc": e.ifsc,
        "recipient_name": e.recipient_name,
        "account": e.account,
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

    /// The v3 docs' sample callback, field for field (`txstatus_desc` in capitals as
    /// there, `beneficiary_account_type` null when the partner did not say).
    #[test]
    fn the_payout_status_body_is_the_docs_sample() {
        let e = PayoutStatusChanged {
            tid: 12_971_412,
            partner_reference: "Settlemet7206124423".into(),
            old_status: TxStatus::Initiated,
            status: TxStatus::Success,
            mode: kosh_core::payouts::PaymentMode::Imps,
            amount: paise(12_000),
            fee: paise(500),
            gst: paise(76),
            utr: "87694239".into(),
            recipient_name: "Virender Singh".into(),
            account: "234243534".into(),
            ifsc: "SBIN0000001".into(),
            sender_name: "Flipkarti".into(),
            account_type: None,
            reason: String::new(),
            at_ms: 1_572_611_628_000,
        };
        let body: Value = serde_json::from_slice(&payout_status(&e).body).unwrap();
        let sample = json!({
            "tx_status": 0, "amount": 120.0, "payment_mode": "5", "txstatus_desc": "SUCCESS", "fee": 5.0,
            "gst": 0.76, "sender_name": "Flipkarti", "tid": 12971412, "beneficiary_account_type": null,
            "client_ref_id": "Settlemet7206124423", "bank_ref_num": "87694239", "ifsc": "SBIN0000001",
            "recipient_name": "Virender Singh", "account": "234243534", "timestamp": "2019-11-01 18:03:48"
        });
        assert_eq!(body, sample);
    }

    #[test]
    fn the_common_body_has_exactly_the_docs_fields() {
        let rendered = status_callback(&transfer_callback(&changed()));
        let body: Value = serde_json::from_slice(&rendered.body).unwrap();
        let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut docs = vec![
            "tx_status",
            "amount",
            "payment_mode",
            "txstatus_desc",
            "fee",
            "gst",
            "sender_name",
            "tid",
            "beneficiary_account_type",
            "client_ref_id",
            "bank_ref_num",
            "ifsc",
            "recipient_name",
            "account",
            "timestamp",
        ];
        docs.sort_unstable();
        assert_eq!(keys, docs);
        assert_eq!((&body["tx_status"], &body["tid"], &body["amount"]), (&json!(0), &json!(1), &json!(120.0)));
        assert_eq!((&body["gst"], &body["beneficiary_account_type"]), (&json!(1.53), &Value::Null));
        let v1: Value = serde_json::from_slice(&transfer_status(&changed()).body).unwrap();
        for key in docs {
            assert_eq!(v1[key], body[key], "the DMT callback carries the common body: {key}");
        }
    }

    #[test]
    fn a_bill_payments_status_body_has_the_common_fields_and_its_service() {
        let e = BillPaymentStatusChanged {
            tid: kosh_core::ids::Tid::new(6_000_000_001),
            partner_reference: "OFF-1".into(),
            user_code: kosh_core::ids::UserCode::new(20_810_200),
            old_status: TxStatus::Initiated,
            status: TxStatus::Refunded,
            payment_kind: kosh_core::bbps::PaymentKind::Bill,
            operator_id: 28,
            operator_name: "Mahanagar Gas".into(),
            account: "210000012345".into(),
            amount: paise(159_200),
            fee: paise(500),
            gst: paise(76),
            commission: paise(382),
            tds: paise(8),
            biller_reference: String::new(),
            sender_name: "Kaushik".into(),
            customer_mobile: "9999999999".into(),
            reason: "reversed".into(),
            at_ms: 1_700_000_000_000,
        };
        let body: Value = serde_json::from_slice(&bill_payment_status(&e).body).unwrap();
        assert_eq!(
            (&body["tx_status"], &body["old_tx_status"], &body["txstatus_desc"]),
            (&json!(4), &json!(2), &json!("Refunded"))
        );
        assert_eq!(
            (&body["tid"], &body["client_ref_id"], &body["service_code"]),
            (&json!(6_000_000_001_i64), &json!("OFF-1"), &json!("53"))
        );
        assert_eq!((&body["amount"], &body["fee"], &body["gst"]), (&json!(1592.0), &json!(5.0), &json!(0.76)));
        assert_eq!((&body["utility_acc_no"], &body["operator_id"]), (&json!("210000012345"), &json!(28)));
        assert_eq!(body["timestamp"], "2023-11-15 03:43:20");
        let card = BillPaymentStatusChanged { payment_kind: kosh_core::bbps::PaymentKind::CreditCard, ..e };
        let body: Value = serde_json::from_slice(&bill_payment_status(&card).body).unwrap();
        assert_eq!(body["service_code"], "63");
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
