//! Every stored record, command and configuration that carries a secret formats with
//! `{:?}` (and `{}` where it has a `Display`) without the secret's text, so a log line,
//! a panic message or an error that prints one leaks nothing.

use kosh_core::echelon::merchant::StoredSecret;
use kosh_core::ids::{MerchantId, PartnerId, Tid, UserCode};
use kosh_core::secret::{Secret, REDACTED};
use kosh_server::config::Config;
use kosh_store::commands::callbacks::{CallbackCommand, SetEndpoint, SetSigning};
use kosh_store::commands::{CheckOtp, Command, EchelonCommand, IssueOtp, RotateSecret};
use kosh_store::ops::aeps::{GatewaySession, NewGatewaySession};
use kosh_store::ops::callbacks::Endpoint;
use kosh_store::ops::echelon::{Merchant, NewMerchant};
use kosh_store::ops::partners::{NewPartner, Partner};
use kosh_store::Location;

const ACCESS_KEY: &str = "ak-6f1c2b9e-secret-access-key";
const BASIC_PASSWORD: &str = "basic-pw-secret-7d3a";
const HEADER_VALUE: &str = "header-api-key-secret-91be";
const SIGNING_SECRET: &str = "whsec_signing-secret-0c4d";
const TOKEN_KEY: &str = "token-key-hex-secret-5e2f";
const CUSTOM_HEADERS: &str = r#"{"X-Partner-Auth":"custom-header-secret-a8c1"}"#;
const ADMIN_TOKEN: &str = "admin-token-secret-4b7e90";
const PEPPER: &str = "echelon-pepper-secret-of-32-characters";
const AADHAAR_PEPPER: &str = "aadhaar-pepper-secret-of-32-characters";
const DB_PASSWORD: &str = "db-password-secret-3f1a";

fn assert_hidden(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!secret.is_empty() && !text.contains(secret), "{what} shows a secret: {text}");
    }
}

fn new_partner() -> NewPartner {
    NewPartner {
        name: "acme".into(),
        developer_key: "dk".into(),
        access_key: ACCESS_KEY.into(),
        initiator_id: "9000000001".into(),
        is_sandbox: false,
    }
}

fn endpoint() -> Endpoint {
    Endpoint {
        kind: "token_fetch".into(),
        url: "https://partner.example/token".into(),
        basic_user: Some("kosh".into()),
        basic_password: Some(BASIC_PASSWORD.into()),
        headers: vec![("X-Api-Key".into(), HEADER_VALUE.into())],
    }
}

fn new_merchant() -> NewMerchant {
    NewMerchant {
        partner_id: PartnerId::new(1),
        merchant_code: "ACME-1".into(),
        name: "Acme".into(),
        secret_salt: "salt".into(),
        secret_verifier: "verifier".into(),
        token_key: TOKEN_KEY.into(),
        is_sandbox: false,
    }
}

#[test]
fn partners_and_their_commands_never_show_the_access_key() {
    let new = new_partner();
    let partner = Partner {
        id: PartnerId::new(7),
        name: new.name.clone(),
        developer_key: new.developer_key.clone(),
        access_key: new.access_key.clone(),
        initiator_id: new.initiator_id.clone(),
        is_sandbox: false,
        created_at_ms: 0,
    };
    assert_hidden("NewPartner", &format!("{new:?}"), &[ACCESS_KEY]);
    assert_hidden("Partner", &format!("{partner:?}"), &[ACCESS_KEY]);
    assert_hidden("Partner (pretty)", &format!("{partner:#?}"), &[ACCESS_KEY]);
    assert!(format!("{partner:?}").contains(&format!("access_key: {REDACTED}")), "{partner:?}");
    assert_hidden("CreatePartner", &format!("{:?}", Command::CreatePartner(new)), &[ACCESS_KEY]);
    assert_eq!(partner.access_key.expose(), ACCESS_KEY, "the key itself is kept");
}

#[test]
fn callback_endpoints_and_signing_never_show_passwords_header_values_or_secrets() {
    let secrets = [BASIC_PASSWORD, HEADER_VALUE];
    assert_hidden("Endpoint", &format!("{:?}", endpoint()), &secrets);
    let set = CallbackCommand::SetEndpoint(SetEndpoint { partner_id: PartnerId::new(1), endpoint: endpoint() });
    assert_hidden("SetEndpoint", &format!("{:?}", Command::Callbacks(set)), &secrets);
    let signing = CallbackCommand::SetSigning(SetSigning { partner_id: PartnerId::new(1), secret: Some(SIGNING_SECRET.into()) });
    assert_hidden("SetSigning", &format!("{signing:?}"), &[SIGNING_SECRET]);
}

#[test]
fn merchants_never_show_their_token_key() {
    let new = new_merchant();
    let merchant = Merchant {
        id: MerchantId::new(1),
        partner_id: new.partner_id,
        merchant_code: new.merchant_code.clone(),
        name: new.name.clone(),
        secret_salt: new.secret_salt.clone(),
        secret_verifier: new.secret_verifier.clone(),
        token_key: new.token_key.clone(),
        active: true,
        is_sandbox: false,
        created_at_ms: 0,
    };
    assert_hidden("NewMerchant", &format!("{new:?}"), &[TOKEN_KEY]);
    assert_hidden("Merchant", &format!("{merchant:?}"), &[TOKEN_KEY]);
    let create = Command::Echelon(EchelonCommand::CreateMerchant(new));
    assert_hidden("CreateMerchant", &format!("{create:?}"), &[TOKEN_KEY]);
    let rotate = EchelonCommand::RotateSecret(RotateSecret {
        merchant_code: "ACME-1".into(),
        salt: "salt".into(),
        verifier: "verifier".into(),
        token_key: TOKEN_KEY.into(),
    });
    assert_hidden("RotateSecret", &format!("{rotate:?}"), &[TOKEN_KEY]);
    let stored = StoredSecret::derive("a-merchant-secret");
    assert_hidden("StoredSecret", &format!("{stored:?}"), &[stored.token_key.expose()]);
}

#[test]
fn gateway_sessions_never_show_the_partners_custom_headers() {
    let new = NewGatewaySession {
        partner_id: PartnerId::new(1),
        token_hash: "hash".into(),
        user_code: UserCode::new(20810200),
        callback_url: "https://partner.example/aeps".into(),
        custom_params: "{}".into(),
        custom_headers: CUSTOM_HEADERS.into(),
        partner_name: "Acme".into(),
        logo_url: String::new(),
        language: "en".into(),
        expires_at_ms: 0,
    };
    let session = GatewaySession {
        id: 1,
        partner_id: new.partner_id,
        user_code: new.user_code,
        callback_url: new.callback_url.clone(),
        custom_params: new.custom_params.clone(),
        custom_headers: new.custom_headers.clone(),
        partner_name: new.partner_name.clone(),
        logo_url: new.logo_url.clone(),
        language: new.language.clone(),
        intents: 0,
        expires_at_ms: 0,
        created_at_ms: 0,
    };
    assert_hidden("NewGatewaySession", &format!("{new:?}"), &["custom-header-secret-a8c1"]);
    assert_hidden("GatewaySession", &format!("{session:?}"), &["custom-header-secret-a8c1"]);
}

#[test]
fn the_configuration_never_shows_tokens_peppers_or_the_database_password() {
    let url = format!("postgres://kosh:{DB_PASSWORD}@127.0.0.1:5432/kosh");
    let config = Config {
        database_url: Some(url.clone().into()),
        admin_token: Some(ADMIN_TOKEN.into()),
        echelon_token_pepper: Some(PEPPER.into()),
        aeps_aadhaar_pepper: Some(AADHAAR_PEPPER.into()),
        ..Config::default()
    };
    let secrets = [DB_PASSWORD, ADMIN_TOKEN, PEPPER, AADHAAR_PEPPER];
    assert_hidden("Config", &format!("{config:?}"), &secrets);
    assert_hidden("Location", &format!("{:?}", config.location()), &[DB_PASSWORD]);
    assert_hidden("Location::Postgres", &format!("{:?}", Location::Postgres(url)), &[DB_PASSWORD]);
    assert_eq!(config.aadhaar_pepper(), Some(AADHAAR_PEPPER), "the key itself is kept");
}

#[test]
fn otp_codes_in_commands_never_show() {
    use kosh_store::commands::aeps::{AepsCommand, VerifyEkycOtp};
    use kosh_store::commands::dmt::{DmtCommand, Refund, VerifyCustomer};
    use kosh_store::ops::otp::OtpRequest;
    const CODE: &str = "864209";
    let request = OtpRequest {
        purpose: "user_mobile".into(),
        subject: "9876500001".into(),
        code: CODE.into(),
        ttl_ms: 1,
        max_attempts: 3,
        sandbox_visible: true,
    };
    let check = Command::CheckOtp(CheckOtp {
        partner_id: PartnerId::new(1),
        purpose: "user_mobile".into(),
        subject: "9876500001".into(),
        code: CODE.into(),
        otp_ref_id: None,
    });
    let verify = DmtCommand::VerifyCustomer(VerifyCustomer {
        partner_id: PartnerId::new(1),
        mobile: "9876500001".into(),
        code: CODE.into(),
        otp_ref_id: None,
    });
    let refund =
        DmtCommand::Refund(Refund { partner_id: PartnerId::new(1), tid: Tid::new(5), code: CODE.into(), otp_ref_id: None });
    let ekyc = AepsCommand::VerifyEkycOtp(VerifyEkycOtp {
        partner_id: PartnerId::new(1),
        user_code: UserCode::new(2),
        code: CODE.into(),
        otp_ref_id: None,
        reference_tid: None,
    });
    let issue = Command::IssueOtp(IssueOtp { partner_id: PartnerId::new(1), request });
    for text in [format!("{issue:?}"), format!("{check:?}"), format!("{verify:?}"), format!("{refund:?}"), format!("{ekyc:?}")] {
        assert_hidden("an OTP command", &text, &[CODE]);
    }
}

#[test]
fn a_secret_prints_as_redacted_both_ways() {
    let secret = Secret::from(ACCESS_KEY);
    assert_eq!((format!("{secret:?}"), format!("{secret}")), (REDACTED.to_owned(), REDACTED.to_owned()));
}
