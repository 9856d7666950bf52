//! The Echelon dialect's callback, rendered from the outbox's typed event when it is
//! delivered: the spec's anemic notification, `{"idEntity": orderId}`, POSTed to the
//! payment's `callbackUrl` (the merchant then reads the payment's detail).

use crate::workers::callbacks::{Rendered, JSON};
use kosh_core::events::PaymentStatusChanged;
use serde_json::json;

/// Where the callback goes and its body.
pub fn payment_status(e: &PaymentStatusChanged) -> (&str, Rendered) {
    let body = json!({ "idEntity": e.order_id });
    (&e.notify_url, Rendered { body: body.to_string().into_bytes(), content_type: JSON })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kosh_core::echelon::{Direction, Status};
    use kosh_core::money::Paise;

    #[test]
    fn the_body_names_the_order_only() {
        let event = PaymentStatusChanged {
            direction: Direction::Payout,
            order_id: "ORD-7".into(),
            payment_ref: "PAY-1".into(),
            old_status: Some(Status::Processing),
            status: Status::Success,
            amount: Paise::new(5_000).unwrap(),
            fee: Paise::new(100).unwrap(),
            notify_url: "http://127.0.0.1:9/cb".into(),
        };
        let (url, rendered) = payment_status(&event);
        assert_eq!(url, "http://127.0.0.1:9/cb");
        assert_eq!(String::from_utf8(rendered.body).unwrap(), "{\"idEntity\":\"ORD-7\"}");
        assert_eq!(rendered.content_type, "application/json");
    }
}
