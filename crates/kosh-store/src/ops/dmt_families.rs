//! What the v3 money-transfer families add to a DMT customer: the verification steps done
//! per family, and the recipients registered with the bank for a family that needs it.

use crate::sql::{Conn, SqlError};
use kosh_core::dmt_family::{Family, KycStep};
use kosh_core::ids::{PartnerId, RecipientId};

/// The steps the sender completed for `family` (the domain's mobile OTP is not among them).
pub async fn steps_done(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    family: &Family,
) -> Result<Vec<KycStep>, SqlError> {
    let rows = db
        .query(
            "SELECT step FROM dmt_sender_kyc WHERE partner_id = $1 AND mobile = $2 AND family = $3 ORDER BY done_at_ms, step",
            &[partner_id.into(), mobile.into(), family.slug.into()],
        )
        .await?;
    let mut steps = Vec::with_capacity(rows.len());
    for row in &rows {
        let code = row.text("step")?;
        steps.push(KycStep::from_code(&code).ok_or_else(|| SqlError::Decode(format!("unknown KYC step {code:?}")))?);
    }
    Ok(steps)
}

/// Records a step as done (again: the first record stays).
pub async fn record_step(
    db: &mut impl Conn,
    partner_id: PartnerId,
    mobile: &str,
    family: &Family,
    step: KycStep,
    detail: &str,
    now_ms: i64,
) -> Result<(), SqlError> {
    db.exec(
        "INSERT INTO dmt_sender_kyc (partner_id, mobile, family, step, detail, done_at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (partner_id, mobile, family, step) DO NOTHING",
        &[partner_id.into(), mobile.into(), family.slug.into(), step.code().into(), detail.into(), now_ms.into()],
    )
    .await?;
    Ok(())
}

/// Registers a recipient with the bank for `family`; `false` when it already was.
pub async fn register_beneficiary(
    db: &mut impl Conn,
    partner_id: PartnerId,
    family: &Family,
    recipient_id: RecipientId,
    now_ms: i64,
) -> Result<bool, SqlError> {
    let inserted = db
        .exec(
            "INSERT INTO dmt_family_beneficiaries (partner_id, family, recipient_id, created_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (partner_id, family, recipient_id) DO NOTHING",
            &[partner_id.into(), family.slug.into(), recipient_id.into(), now_ms.into()],
        )
        .await?;
    Ok(inserted == 1)
}

/// Whether the recipient is registered with the bank for `family`.
pub async fn is_beneficiary(
    db: &mut impl Conn,
    partner_id: PartnerId,
    family: &Family,
    recipient_id: RecipientId,
) -> Result<bool, SqlError> {
    let row = db
        .query_opt(
            "SELECT recipient_id FROM dmt_family_beneficiaries WHERE partner_id = $1 AND family = $2 AND recipient_id = $3",
            &[partner_id.into(), family.slug.into(), recipient_id.into()],
        )
        .await?;
    Ok(row.is_some())
}
