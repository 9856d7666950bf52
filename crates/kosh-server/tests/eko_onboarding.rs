//! Agent onboarding, services, mobile OTPs and the wallet balance, through the real
//! server on both backends, signed with kosh-sdk.

mod eko_support;
use kosh_core::ids::UserCode;
use kosh_testkit::on_both_backends;

use eko_support::{agent_form, get, invalid_names, onboard, pairs, put, sandbox, service_entry, Backend};
use kosh_core::clock::{Clock, ManualClock, SystemClock};
use kosh_sdk::eko::{Client, Credentials};
use kosh_server::eko::user::require_active_service;
use serde_json::{json, Value};

on_both_backends!(
    onboarding_services_and_mobile_verification_end_to_end,
    onboarding_the_same_pan_again_answers_the_existing_user,
    every_invalid_onboarding_field_is_listed_at_once,
    each_onboarding_field_is_checked,
    json_bodies_and_the_vendors_curl_form_both_work,
    the_docs_example_pan_onboards_in_sandbox,
    every_issued_pan_holder_type_onboards_and_the_docs_example_only_in_sandbox,
    activation_and_deactivation_explain_their_errors,
    require_active_service_answers_agent_not_allowed,
    otp_failures_explain_themselves,
    otp_requests_are_rate_limited,
    the_sandbox_otp_reader_shows_only_the_partners_own_otps,
    the_sandbox_otp_reader_does_not_exist_outside_sandbox_mode,
    the_balance_is_the_partners_own_wallet,
    a_wrong_initiator_id_is_status_319,
);

async fn onboarding_services_and_mobile_verification_end_to_end(backend: Backend) {
    // The review period runs on the injected clock: on the wall clock, a busy machine
    // could take longer than the review between activating and answering.
    let clock = ManualClock::new(SystemClock.now_ms());
    let app = eko_support::start_with_clock(backend, clock.clone(), |c| {
        c.timestamp_tolerance_secs = 86_400; // the manual clock runs behind the signing clock
        c.service_review_secs = 1;
    })
    .await;
    let eko = sandbox(&app, "/ekoapi/v1");

    let form = agent_form("ABCPV1234K", "9876500001");
    let body = put(&eko, "/user/onboard", &pairs(&form)).await;
    assert_eq!(
        (&body["status"], &body["response_status_id"], &body["response_type_id"], &body["message"]),
        (&json!(0), &json!(-1), &json!(1290), &json!("User onboarding successfull")),
        "{body}"
    );
    assert_eq!(body["data"]["initiator_id"], "9962981729");
    let user_code = body["data"]["user_code"].as_str().expect("user_code").to_owned();
    assert_eq!(user_code.len(), 8, "{user_code}");
    let enquiry_path = format!("/user/services/user_code:{user_code}");

    let enquiry = get(&eko, &enquiry_path, &[]).await;
    assert_eq!(enquiry["response_type_id"], 1299, "{enquiry}");
    assert_eq!(enquiry["data"]["service_status_list"], json!([]), "a new agent has no services");

    let payout = put(&eko, "/user/service/activate", &[("service_code", "45"), ("user_code", &user_code)]).await;
    assert_eq!((&payout["status"], &payout["response_type_id"]), (&json!(0), &json!(1294)), "{payout}");
    assert_eq!((&payout["data"]["status"], &payout["data"]["status_desc"]), (&json!(1), &json!("ACTIVATED")));
    assert_eq!(payout["data"]["verification_status"], 0, "payout needs no document review");

    let aeps_form = [
        ("service_code", "43"),
        ("user_code", user_code.as_str()),
        ("latlong", "28.4595,77.0266"),
        ("modelname", "Morpho MSO 1300 E3"),
        ("devicenumber", "2345A678"),
        ("office_address", r#"{"line":"Shop 4","city":"Gurgaon","state":"Haryana","pincode":"122001"}"#),
        ("address_as_per_proof", r#"{"line":"12 MG Road","city":"Gurgaon","state":"Haryana","pincode":"122002"}"#),
    ];
    let aeps = put(&eko, "/user/service/activate", &aeps_form).await;
    assert_eq!((&aeps["status"], &aeps["response_type_id"]), (&json!(0), &json!(1295)), "{aeps}");
    assert_eq!((&aeps["data"]["status"], &aeps["data"]["status_desc"]), (&json!(2), &json!("PENDING")));
    assert_eq!(aeps["data"]["verification_status"], 3, "documents await review");

    // The review takes service_review_secs (1 s): pending until then, activated after.
    let enquiry = get(&eko, &enquiry_path, &[]).await;
    let entry = service_entry(&enquiry, "43").expect("43 is listed");
    assert_eq!(entry["status"], 2, "pending until activated: {entry}");
    clock.advance_ms(999);
    let entry = service_entry(&get(&eko, &enquiry_path, &[]).await, "43").expect("43 is listed");
    assert_eq!(entry["status"], 2, "pending until activated: {entry}");
    clock.advance_ms(1);
    let enquiry = get(&eko, &enquiry_path, &[]).await;
    let aeps = service_entry(&enquiry, "43").expect("service 43 activates after the review delay");
    assert_eq!(aeps["status"], 1, "{aeps}");
    assert_eq!((&aeps["status_desc"], &aeps["verification_status"]), (&json!("ACTIVATED"), &json!(1)));
    assert_eq!(service_entry(&enquiry, "45").expect("45")["status"], 1);

    let mobile = "9876500001";
    let otp = put(&eko, "/user/request/otp", &[("mobile", mobile)]).await;
    assert_eq!((&otp["status"], &otp["response_type_id"]), (&json!(0), &json!(1316)), "{otp}");
    let otp_ref_id = otp["data"]["otp_ref_id"].as_str().expect("otp_ref_id").to_owned();

    let root = eko_support::root(&app);
    let read = get(&root, "/sandbox/otp", &[("mobile", mobile), ("purpose", "user_mobile")]).await;
    assert_eq!(read["data"]["otp_ref_id"], otp_ref_id.as_str(), "{read}");
    let code = read["data"]["otp"].as_str().expect("otp").to_owned();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");

    let verified = put(&eko, "/user/verify", &[("mobile", mobile), ("otp", &code), ("otp_ref_id", &otp_ref_id)]).await;
    assert_eq!((&verified["status"], &verified["response_type_id"]), (&json!(0), &json!(1319)), "{verified}");

    let again = put(&eko, "/user/request/otp", &[("mobile", mobile)]).await;
    assert_eq!((&again["status"], &again["response_type_id"]), (&json!(0), &json!(1317)), "{again}");
    assert_eq!(again["message"], "Mobile number already verified");
    let reverify = put(&eko, "/user/verify", &[("mobile", mobile), ("otp", &code)]).await;
    assert_eq!(reverify["response_type_id"], 1317, "{reverify}");

    let used = root.get("/sandbox/otp", &[("mobile", mobile)]).await.expect("answer");
    assert_eq!(used.status, 404, "a used OTP is not readable any more: {}", used.body);
    app.stop().await;
}

async fn onboarding_the_same_pan_again_answers_the_existing_user(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let user_code = onboard(&eko, "ABCPD1234K", "9876500002").await;

    let mut same_pan = agent_form("abcpd1234k", "9876500003");
    same_pan[2].1 = "Someone".into();
    let body = put(&eko, "/user/onboard", &pairs(&same_pan)).await;
    assert_eq!(
        (&body["status"], &body["response_type_id"], &body["message"]),
        (&json!(0), &json!(1307), &json!("User already exists")),
        "{body}"
    );
    assert_eq!(body["data"]["user_code"], user_code.as_str(), "the existing user_code, however the PAN is cased");

    let taken = put(&eko, "/user/onboard", &pairs(&agent_form("ABCPE1234K", "9876500002"))).await;
    assert_eq!(
        (&taken["status"], &taken["response_status_id"], &taken["message"]),
        (&json!(31), &json!(1), &json!("Agent can not be registered")),
        "{taken}"
    );
    assert!(taken["hint"].as_str().unwrap_or("").contains("9876500002"), "the hint names the mobile: {taken}");

    let sandbox_agent = put(&eko, "/user/onboard", &pairs(&agent_form("ABCPF1234K", "9962981729"))).await;
    assert_eq!(sandbox_agent["status"], 31, "the sandbox agent's mobile is taken: {sandbox_agent}");
    app.stop().await;
}

async fn every_invalid_onboarding_field_is_listed_at_once(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");

    let empty = put(&eko, "/user/onboard", &[]).await;
    assert_eq!((&empty["status"], &empty["response_status_id"], &empty["response_type_id"]), (&json!(97), &json!(1), &json!(-1)));
    let required = ["dob", "email", "first_name", "mobile", "pan_number", "residence_address", "shop_name"];
    assert_eq!(invalid_names(&empty), required, "{empty}");
    assert!(required.iter().all(|name| empty["invalid_params"][name] == "is required"), "{empty}");

    let long_shop = "S".repeat(101);
    let bad = [
        ("pan_number", "ABCXE1234F"),
        ("mobile", "12345"),
        ("first_name", "R2D2"),
        ("middle_name", "X1"),
        ("last_name", "Y_"),
        ("email", "not-an-email"),
        ("residence_address", "Gurgaon"),
        ("dob", "2015-01-01"),
        ("shop_name", long_shop.as_str()),
    ];
    let body = put(&eko, "/user/onboard", &bad).await;
    assert_eq!((&body["status"], &body["message"]), (&json!(1), &json!("Invalid parameters")), "nothing is missing: {body}");
    let mut names: Vec<&str> = bad.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    assert_eq!(invalid_names(&body), names, "{body}");

    // Without initiator_id, it is listed with the other problems.
    let raw = eko_support::signed(reqwest::Client::new().put(format!("{}/ekoapi/v1/user/onboard", app.url())))
        .form(&[("mobile", "12345")]);
    let (http, body) = eko_support::send(raw).await;
    assert_eq!(http, 200);
    let names = invalid_names(&body);
    assert!(names.contains(&"initiator_id".to_owned()) && names.contains(&"mobile".to_owned()), "{body}");
    assert!(names.contains(&"pan_number".to_owned()), "{body}");
    app.stop().await;
}

async fn each_onboarding_field_is_checked(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v2");
    let cases: &[(&str, &str, &str)] = &[
        ("pan_number", "ABCP1234F", "must be a PAN like ABCDE1234F"),
        ("pan_number", "ABCXE1234F", "has an invalid holder type (4th character)"),
        ("mobile", "5876500010", "must start with 6, 7, 8 or 9"),
        ("mobile", "98765000", "must be a 10-digit mobile number"),
        ("first_name", "Ram2", "must contain only letters"),
        ("middle_name", &"m".repeat(51), "must be 1 to 50 characters"),
        ("last_name", "K@r", "must contain only letters"),
        ("email", "asha@localhost", "must be an e-mail address"),
        (
            "residence_address",
            r#"{"line":"x","city":"y","state":"z","pincode":"022002"}"#,
            "pincode must be 6 digits, not starting with 0",
        ),
        ("residence_address", r#"{"line":"x","city":"y"}"#, "must be a JSON object with line, city, state and pincode"),
        ("dob", "15-04-1990", "must be a date in YYYY-MM-DD format"),
        ("dob", "1990-02-30", "must be a date in YYYY-MM-DD format"),
        ("dob", "1890-01-01", "must be at most 120 years ago"),
        ("shop_name", "Shop\u{7}", "must not contain control characters"),
    ];
    for (name, value, message) in cases {
        let mut form = agent_form("ABCPG1234K", "9876500010");
        match form.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = (*value).into(),
            None => form.push((name, (*value).into())),
        }
        let body = put(&eko, "/user/onboard", &pairs(&form)).await;
        assert_eq!(invalid_names(&body), [*name], "{name}={value}: {body}");
        assert_eq!(body["invalid_params"][name], *message, "{name}={value}: {body}");
        assert_eq!(body["message"], format!("{name}: {message}"), "{body}");
    }
    // Optional fields may be left out.
    let mut minimal = agent_form("ABCPG1234K", "9876500010");
    minimal.retain(|(n, _)| *n != "middle_name" && *n != "last_name");
    assert_eq!(put(&eko, "/user/onboard", &pairs(&minimal)).await["response_type_id"], 1290);
    app.stop().await;
}

async fn json_bodies_and_the_vendors_curl_form_both_work(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoicici/v1");
    let body = json!({
        "initiator_id": "9962981729", "pan_number": "ABCPH1234K", "mobile": 9876500020u64, "first_name": "Ravi",
        "email": "ravi@example.com", "dob": "1985-12-01", "shop_name": "Ravi Telecom",
        "residence_address": { "line": "Plot 7", "city": "Jaipur", "state": "Rajasthan", "pincode": "302001",
                               "district": "Jaipur", "area": "Malviya Nagar" }
    });
    let answer = eko.send_json(reqwest::Method::PUT, "/user/onboard", &body, None).await.expect("answer");
    assert_eq!((answer.status, &answer.body["response_type_id"]), (200, &json!(1290)), "{}", answer.body);

    // The vendor's curl example, byte for byte: `--data` parts joined with `&`, the
    // residence_address JSON not percent-encoded.
    let curl_body = [
        "initiator_id=9962981729",
        "pan_number=BFUPM3499K",
        "mobile=9123354235",
        "first_name=Flipkart",
        "last_name=Singh",
        "email=a@gmail.com",
        r#"residence_address={"line": "Eko India","city":"Gurgaon","state":"Haryana","pincode":"122002","district":"Gurgaon","area":"Sector 12"}"#,
        "dob=1992-05-10",
        "shop_name=Akash",
    ]
    .join("&");
    let curl = |path: &str, body: String| {
        eko_support::signed(reqwest::Client::new().put(format!("{}/ekoapi/v1{path}", app.url())))
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    };
    let (http, onboarded) = eko_support::send(curl("/user/onboard", curl_body)).await;
    assert_eq!((http, &onboarded["response_type_id"]), (200, &json!(1290)), "{onboarded}");
    let user_code = onboarded["data"]["user_code"].as_str().expect("user_code");
    let activate = format!("service_code=45&initiator_id=9962981729&user_code={user_code}&latlong=28.6139,77.2090");
    let (http, activated) = eko_support::send(curl("/user/service/activate", activate)).await;
    assert_eq!(
        (http, &activated["response_type_id"], &activated["data"]["status"]),
        (200, &json!(1294), &json!(1)),
        "{activated}"
    );
    // The sandbox agent has every service already.
    let (_, again) =
        eko_support::send(curl("/user/service/activate", "service_code=45&initiator_id=9962981729&user_code=20810200".into()))
            .await;
    assert_eq!(
        (&again["response_type_id"], &again["message"]),
        (&json!(1294), &json!("Service is already activated")),
        "{again}"
    );
    app.stop().await;
}

/// The documentation's onboarding fields with its example PAN `ABCDE1234F`, whose 4th
/// character (D) is no holder type: a sandbox takes it, as form and as JSON.
async fn the_docs_example_pan_onboards_in_sandbox(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let address =
        r#"{"line": "Eko India","city":"Gurgaon","state":"Haryana","pincode":"122002","district":"Gurgaon","area":"Sector 12"}"#;
    let form = [
        ("pan_number", "ABCDE1234F"),
        ("mobile", "9123354235"),
        ("first_name", "Flipkart"),
        ("last_name", "Singh"),
        ("email", "a@gmail.com"),
        ("residence_address", address),
        ("dob", "1992-05-10"),
        ("shop_name", "Akash"),
    ];
    let body = put(&eko, "/user/onboard", &form).await;
    assert_eq!(
        (&body["status"], &body["response_status_id"], &body["response_type_id"], &body["message"]),
        (&json!(0), &json!(-1), &json!(1290), &json!("User onboarding successfull")),
        "{body}"
    );
    let user_code = body["data"]["user_code"].as_str().expect("user_code").to_owned();

    let json_body = json!({
        "initiator_id": "9962981729", "pan_number": "abcde1234f", "mobile": "9123354235", "first_name": "Flipkart",
        "last_name": "Singh", "email": "a@gmail.com", "dob": "1992-05-10", "shop_name": "Akash",
        "residence_address": serde_json::from_str::<Value>(address).expect("address JSON"),
    });
    let again = eko.send_json(reqwest::Method::PUT, "/user/onboard", &json_body, None).await.expect("answer");
    assert_eq!((answer_rt(&again.body), &again.body["data"]["user_code"]), (1307, &json!(user_code)), "{}", again.body);
    app.stop().await;
}

fn answer_rt(body: &Value) -> i64 {
    body["response_type_id"].as_i64().unwrap_or_default()
}

/// Every holder type the Income Tax Department issues (E, limited liability
/// partnership, among them) onboards in either mode; outside sandbox mode the
/// documentation's example PAN is what it is, an invalid holder type.
async fn every_issued_pan_holder_type_onboards_and_the_docs_example_only_in_sandbox(backend: Backend) {
    let app = eko_support::start(backend, eko_support::production).await;
    let credentials = Credentials {
        developer_key: kosh_core::secret::new_developer_key(),
        access_key: kosh_core::secret::new_access_key(),
        initiator_id: "9000000002".into(),
    };
    eko_support::create_partner(&app, "production", &credentials).await;
    let eko = Client::new(format!("{}/ekoapi/v1", app.url()), credentials);

    let docs = put(&eko, "/user/onboard", &pairs(&agent_form("ABCDE1234F", "9876500100"))).await;
    assert_eq!(docs["invalid_params"]["pan_number"], "has an invalid holder type (4th character)", "{docs}");
    for (i, holder) in "ABCEFGHJKLPT".chars().enumerate() {
        let pan = format!("AAA{holder}K1234Q");
        let mobile = format!("98765001{:02}", i + 1);
        let body = put(&eko, "/user/onboard", &pairs(&agent_form(&pan, &mobile))).await;
        assert_eq!(answer_rt(&body), 1290, "{pan}: {body}");
    }
    app.stop().await;
}

async fn activation_and_deactivation_explain_their_errors(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let uc = onboard(&eko, "ABCPJ1234K", "9876500030").await;
    let uc = uc.as_str();

    let unknown = put(&eko, "/user/service/activate", &[("service_code", "999"), ("user_code", uc)]).await;
    assert_eq!(invalid_names(&unknown), ["service_code"], "{unknown}");
    let why = unknown["invalid_params"]["service_code"].as_str().expect("message");
    assert!(why.starts_with("is not a known service code (known: 4, 10, 39, 43, 45"), "{why}");

    let missing = put(&eko, "/user/service/activate", &[]).await;
    assert_eq!(
        (&missing["status"], invalid_names(&missing)),
        (&json!(97), vec!["service_code".to_owned(), "user_code".to_owned()])
    );

    let bad = [
        ("service_code", "AePS"),
        ("user_code", "2081"),
        ("latlong", "128.1,77.2"),
        ("modelname", &"M".repeat(65)),
        ("office_address", r#"{"line":"x"}"#),
        ("address_as_per_proof", "Line\u{1}"),
    ];
    let body = put(&eko, "/user/service/activate", &bad).await;
    let mut names: Vec<&str> = bad.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    assert_eq!(invalid_names(&body), names, "{body}");
    assert_eq!(body["invalid_params"]["latlong"], "is out of range");

    let nobody = put(&eko, "/user/service/activate", &[("service_code", "45"), ("user_code", "99999999")]).await;
    assert_eq!((&nobody["status"], &nobody["message"]), (&json!(463), &json!("User not found")), "{nobody}");

    let never = put(&eko, "/user/service/deactivate", &[("service_code", "53"), ("user_code", uc)]).await;
    assert_eq!((&never["status"], &never["message"]), (&json!(1), &json!("Service is not activated for this user")), "{never}");

    assert_eq!(put(&eko, "/user/service/activate", &[("service_code", "53"), ("user_code", uc)]).await["response_type_id"], 1294);
    let twice = put(&eko, "/user/service/activate", &[("service_code", "53"), ("user_code", uc)]).await;
    assert_eq!(twice["message"], "Service is already activated", "{twice}");
    let off = put(&eko, "/user/service/deactivate", &[("service_code", "53"), ("user_code", uc)]).await;
    assert_eq!(
        (&off["status"], &off["response_type_id"], &off["data"]["status_desc"]),
        (&json!(0), &json!(1298), &json!("DEACTIVATED"))
    );
    let enquiry = get(&eko, &format!("/user/services/user_code:{uc}"), &[]).await;
    assert_eq!(service_entry(&enquiry, "53").expect("53")["status"], 0, "{enquiry}");
    let on = put(&eko, "/user/service/activate", &[("service_code", "53"), ("user_code", uc)]).await;
    assert_eq!((&on["message"], &on["data"]["status"]), (&json!("Service activated successfully"), &json!(1)), "{on}");
    app.stop().await;
}

async fn require_active_service_answers_agent_not_allowed(backend: Backend) {
    let app = eko_support::start(backend, |c| c.service_review_secs = 3600).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let uc = onboard(&eko, "ABCPK1234K", "9876500040").await;
    let partner = app.state.store.partner_by_developer_key(&Credentials::sandbox().developer_key).await.unwrap().unwrap();
    let user_code: UserCode = uc.parse().unwrap();
    let gate = |service_code| require_active_service(&app.state, partner.id, user_code, service_code);

    let refused = gate(45).await.expect_err("45 is not active yet");
    assert_eq!((refused.status, refused.message.as_str()), (346, "Agent not allowed"));
    let hint = refused.hint.unwrap_or_default();
    assert!(hint.contains("service 45") && hint.contains("PUT /user/service/activate"), "{hint}");

    put(&eko, "/user/service/activate", &[("service_code", "45"), ("user_code", &uc)]).await;
    gate(45).await.expect("45 is active");

    put(&eko, "/user/service/activate", &[("service_code", "43"), ("user_code", &uc)]).await;
    let pending = gate(43).await.expect_err("43 waits for review");
    assert!(pending.hint.unwrap_or_default().contains("pending verification"), "{:?}", pending.message);

    put(&eko, "/user/service/deactivate", &[("service_code", "45"), ("user_code", &uc)]).await;
    let off = gate(45).await.expect_err("45 was deactivated");
    assert!(off.hint.unwrap_or_default().contains("deactivated"));

    let nobody = require_active_service(&app.state, partner.id, UserCode::new(99_999_999), 45).await.expect_err("no such agent");
    assert_eq!(nobody.status, 463);
    require_active_service(&app.state, partner.id, UserCode::new(20_810_200), 52)
        .await
        .expect("the sandbox agent has every service");
    app.stop().await;
}

async fn otp_failures_explain_themselves(backend: Backend) {
    let clock = ManualClock::new(SystemClock.now_ms());
    let app = eko_support::start_with_clock(backend, clock.clone(), |c| {
        c.timestamp_tolerance_secs = 86_400; // the manual clock runs ahead of the signing clock
        c.otp_ttl_secs = 60;
    })
    .await;
    let eko = sandbox(&app, "/ekoapi/v1");
    let root = eko_support::root(&app);
    let mobile = "9876500050";

    let none = put(&eko, "/user/verify", &[("mobile", mobile), ("otp", "123456")]).await;
    assert_eq!((&none["status"], &none["response_type_id"]), (&json!(1), &json!(1325)), "{none}");

    let issued = put(&eko, "/user/request/otp", &[("mobile", mobile)]).await;
    let otp_ref_id = issued["data"]["otp_ref_id"].as_str().expect("otp_ref_id").to_owned();
    let code = get(&root, "/sandbox/otp", &[("mobile", mobile)]).await["data"]["otp"].as_str().expect("otp").to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in [2, 1] {
        let body = put(&eko, "/user/verify", &[("mobile", mobile), ("otp", wrong)]).await;
        assert_eq!(
            (&body["status"], &body["response_type_id"], &body["message"]),
            (&json!(302), &json!(302), &json!("Wrong OTP"))
        );
        assert_eq!(body["hint"], format!("{left} attempt(s) left for this OTP"), "{body}");
    }
    let last = put(&eko, "/user/verify", &[("mobile", mobile), ("otp", wrong)]).await;
    assert!(last["hint"].as_str().unwrap_or("").starts_with("no attempts left"), "{last}");
    let exhausted = put(&eko, "/user/verify", &[("mobile", mobile), ("otp", &code), ("otp_ref_id", &otp_ref_id)]).await;
    assert_eq!((&exhausted["status"], &exhausted["response_type_id"]), (&json!(1), &json!(1324)), "{exhausted}");

    put(&eko, "/user/request/otp", &[("mobile", mobile)]).await;
    let stranger = put(&eko, "/user/verify", &[("mobile", mobile), ("otp", "123456"), ("otp_ref_id", "987654")]).await;
    assert_eq!(stranger["response_type_id"], 1325, "{stranger}");
    assert!(stranger["hint"].as_str().unwrap_or("").contains("otp_ref_id"), "{stranger}");

    clock.advance_ms(61_000);
    let expired = put(&eko, "/user/verify", &[("mobile", mobile), ("otp", "123456")]).await;
    assert_eq!(
        (&expired["status"], &expired["response_type_id"], &expired["message"]),
        (&json!(303), &json!(303), &json!("OTP expired"))
    );
    let read = root.get("/sandbox/otp", &[("mobile", mobile)]).await.expect("answer");
    assert_eq!(read.status, 404, "{}", read.body);
    assert!(read.body["hint"].as_str().unwrap_or("").contains("expired"), "{}", read.body);

    let malformed = put(&eko, "/user/verify", &[("mobile", "98765"), ("otp", "12ab"), ("otp_ref_id", "-4")]).await;
    assert_eq!(invalid_names(&malformed), ["mobile", "otp", "otp_ref_id"], "{malformed}");
    let missing = put(&eko, "/user/request/otp", &[]).await;
    assert_eq!((&missing["status"], invalid_names(&missing)), (&json!(97), vec!["mobile".to_owned()]));
    app.stop().await;
}

async fn otp_requests_are_rate_limited(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v1");
    for _ in 0..kosh_store::ops::otp::MAX_PER_WINDOW {
        assert_eq!(put(&eko, "/user/request/otp", &[("mobile", "9876500060")]).await["response_type_id"], 1316);
    }
    let limited = put(&eko, "/user/request/otp", &[("mobile", "9876500060")]).await;
    assert_eq!(
        (&limited["status"], &limited["response_status_id"], &limited["response_type_id"], &limited["message"]),
        (&json!(1), &json!(1), &json!(1318), &json!("Too many OTP requests")),
        "{limited}"
    );
    assert_eq!(put(&eko, "/user/request/otp", &[("mobile", "9876500061")]).await["response_type_id"], 1316, "per mobile");
    app.stop().await;
}

async fn the_sandbox_otp_reader_shows_only_the_partners_own_otps(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let other = Credentials {
        developer_key: kosh_core::secret::new_developer_key(),
        access_key: kosh_core::secret::new_access_key(),
        initiator_id: "9000000001".into(),
    };
    eko_support::create_partner(&app, "other", &other).await;
    let mobile = "9876500070";
    put(&sandbox(&app, "/ekoapi/v1"), "/user/request/otp", &[("mobile", mobile)]).await;
    let own = get(&eko_support::root(&app), "/sandbox/otp", &[("mobile", mobile)]).await;
    assert_eq!((&own["status"], &own["data"]["purpose"]), (&json!(0), &json!("user_mobile")), "{own}");

    let theirs = Client::new(app.url(), other.clone()).get("/sandbox/otp", &[("mobile", mobile)]).await.expect("answer");
    assert_eq!(theirs.status, 404, "another partner's OTP is invisible: {}", theirs.body);
    assert_eq!(theirs.body["message"], "No usable OTP for this mobile and purpose");
    let wrong_initiator = Client::new(app.url(), Credentials { initiator_id: "9962981729".into(), ..other })
        .get("/sandbox/otp", &[("mobile", mobile)])
        .await
        .expect("answer");
    assert_eq!(wrong_initiator.body["status"], 319, "{}", wrong_initiator.body);

    let (http, unsigned) =
        eko_support::send(reqwest::Client::new().get(format!("{}/sandbox/otp?mobile={mobile}", app.url()))).await;
    assert_eq!((http, &unsigned["message"]), (402, &json!("developer_key header is missing")), "{unsigned}");
    let no_mobile = get(&eko_support::root(&app), "/sandbox/otp", &[]).await;
    assert_eq!(invalid_names(&no_mobile), ["mobile"], "{no_mobile}");
    let other_purpose = eko_support::root(&app).get("/sandbox/otp", &[("mobile", mobile), ("purpose", "customer")]).await;
    assert_eq!(other_purpose.expect("answer").status, 404, "OTPs are read per purpose");
    let (http, post) =
        eko_support::send(eko_support::signed(reqwest::Client::new().post(format!("{}/sandbox/otp", app.url())))).await;
    assert_eq!((http, &post["status"]), (405, &json!(405)), "{post}");
    app.stop().await;
}

async fn the_sandbox_otp_reader_does_not_exist_outside_sandbox_mode(backend: Backend) {
    let app = eko_support::start(backend, eko_support::production).await;
    let (http, body) = eko_support::send(eko_support::signed(
        reqwest::Client::new().get(format!("{}/sandbox/otp?mobile=9876500080", app.url())),
    ))
    .await;
    assert_eq!((http, &body["message"]), (404, &json!("Not found: /sandbox/otp exists only in sandbox mode")), "{body}");
    app.stop().await;
}

async fn the_balance_is_the_partners_own_wallet(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let eko = sandbox(&app, "/ekoapi/v2");
    let body = get(&eko, "/customers/mobile_number:9962981729/balance", &[]).await;
    assert_eq!((&body["status"], &body["response_status_id"], &body["response_type_id"]), (&json!(0), &json!(-1), &json!(1)));
    assert_eq!(
        (&body["data"]["balance"], &body["data"]["currency"], &body["data"]["customer_id"]),
        (&json!("1000000.00"), &json!("INR"), &json!("9962981729")),
        "{body}"
    );
    let other = get(&eko, "/customers/mobile_number:9876500090/balance", &[]).await;
    assert_eq!(
        (&other["status"], &other["message"]),
        (&json!(463), &json!("Wallet not found for this mobile number")),
        "{other}"
    );
    assert!(other["hint"].as_str().unwrap_or("").contains("initiator_id"), "{other}");
    let bad = get(&eko, "/customers/mobile_number:12/balance", &[]).await;
    assert_eq!(invalid_names(&bad), ["mobile_number"], "{bad}");
    let wrong_name = eko.get("/customers/mobile:9962981729/balance", &[]).await.expect("answer");
    assert_eq!((wrong_name.status, &wrong_name.body["message"]), (404, &json!("No mapping rule matched")));
    app.stop().await;
}

async fn a_wrong_initiator_id_is_status_319(backend: Backend) {
    let app = eko_support::start(backend, |_| {}).await;
    let stranger = Client::new(
        format!("{}/ekoapi/v1", app.url()),
        Credentials { initiator_id: "9000000002".into(), ..Credentials::sandbox() },
    );
    let form = agent_form("ABCPL1234K", "9876500100");
    let writes: [(&str, Vec<(&str, &str)>); 5] = [
        ("/user/onboard", pairs(&form)),
        ("/user/service/activate", vec![("service_code", "45"), ("user_code", "20810200")]),
        ("/user/service/deactivate", vec![("service_code", "45"), ("user_code", "20810200")]),
        ("/user/request/otp", vec![("mobile", "9876500100")]),
        ("/user/verify", vec![("mobile", "9876500100"), ("otp", "123456")]),
    ];
    for (path, form) in writes {
        let body: Value = put(&stranger, path, &form).await;
        assert_eq!((&body["status"], &body["message"]), (&json!(319), &json!("Invalid Sender/Initiator")), "{path}: {body}");
    }
    let balance = get(&stranger, "/customers/mobile_number:9962981729/balance", &[]).await;
    assert_eq!(balance["status"], 319, "{balance}");
    app.stop().await;
}
