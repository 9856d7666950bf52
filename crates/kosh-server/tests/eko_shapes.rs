//! Every served Eko endpoint that has a sample response in the vendor's docs answers
//! every key of that sample with the sample's JSON type (extra keys are fine), and the
//! sample's `status` / `response_type_id` / `response_status_id` where it has them.
//!
//! The table below is the contract: one row per sample, copied from
//! `shared/reference/eko-api-docs-v3.md` ("docs", section named in each row) or, where
//! the docs have no sample, from the key lists of `eko-api-catalogue.md` ("catalogue",
//! its section named; keys whose type the catalogue does not state are checked for
//! presence only). The rows run in order through the real server, signed, on both
//! backends; `{name}` in a path or request is a value captured by an earlier row, and
//! `{otp:MOBILE:PURPOSE}` the latest OTP the sandbox sent to MOBILE for PURPOSE.
//!
//! Served endpoints without a sample (in the docs or the catalogue), so not in the table:
//! - `PUT /user/service/activate`, `PUT /user/service/deactivate` (docs User Management
//!   §4, §5: no sample response), and their v3 forms
//!   `PUT /admin/network/agent/{u}/service/{c}/activate|deactivate`,
//!   `PUT /admin/network/agent/{u}/aeps-fingpay/activate` (the same answers)
//! - `PUT /user/request/otp`, `PUT /user/verify` (agent mobile OTP; catalogue §3.1 names
//!   only rt 1317)
//! - `GET /customers/mobile_number:{m}/recipients/recipient_id:{id}` and `DELETE` of it
//!   (v1 only; no sample; the GET answers the same recipient object as the list's items)
//! - `GET /banks` without parameters (the docs' "Get Banks API" §1 sample is a verbatim
//!   copy of the single-bank "Get Bank Details" sample; Kosh lists `data.bank_list`, each
//!   entry shaped as that sample — README "Money transfer")
//! - AePS: `PUT …/aeps-fino/kyc/biometric` (Kosh's alias), `POST /v2/aeps/aepsmerchantauth`
//!   (same answer as the daily row), `GET /v2|v3/aeps/transactions/{ref}` (Kosh's own
//!   path, README "AePS")
//! - Token: `POST /customer/payment/token`, `GET /customer/payment/token/{token}`,
//!   `POST /customer/payment/token/{token}/pay` (the docs and the seed give requests
//!   only; README "Token cash collection": the response_type_ids are Kosh's choice)
//! - `GET /sandbox/otp` (Kosh's own, not an Eko endpoint)

mod eko_support;
use kosh_testkit::on_both_backends;

use eko_support::{signed_at, Backend};
use kosh_core::aadhaar::with_check_digit;
use kosh_core::aeps::simulated_pid;
use kosh_core::clock::{Clock, ManualClock, SystemClock};
use kosh_sdk::eko::Credentials;
use kosh_server::App;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

on_both_backends!(every_served_endpoint_answers_the_docs_sample_shape);

/// A JSON type as the samples show it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Json {
    Str,
    Num,
    Obj,
    Arr,
    Null,
    /// The catalogue names the key without its type: present, any type.
    Any,
}
use Json::*;

impl Json {
    fn matches(self, v: &Value) -> bool {
        match self {
            Str => v.is_string(),
            Num => v.is_number(),
            Obj => v.is_object(),
            Arr => v.is_array(),
            Null => v.is_null(),
            Any => true,
        }
    }
}

/// A request: method, path under the server root, parameters (JSON body, or the query
/// of a GET), the `request_hash` fields (parameter names) and the values to capture.
struct Call {
    method: &'static str,
    path: &'static str,
    request: &'static [(&'static str, &'static str)],
    hash: &'static [&'static str],
    capture: &'static [(&'static str, &'static str)],
}

const fn call(method: &'static str, path: &'static str, request: &'static [(&'static str, &'static str)]) -> Call {
    Call { method, path, request, hash: &[], capture: &[] }
}

/// One sample: the request that produces it, the sample's `data` keys (`a.b` inside an
/// object, `a[].b` in every element of a non-empty array) and its envelope.
struct Sample {
    source: &'static str,
    call: Call,
    data: &'static [(&'static str, Json)],
    status: Option<i64>,
    rt: Option<i64>,
    rsid: Option<i64>,
}

enum Step {
    Check(Sample),
    /// A call that sets up the next samples (its endpoint has no sample of its own here).
    Setup(Call),
    /// Moves the server's clock on.
    AdvanceSecs(i64),
}

const AGENT_MOBILE: &str = "9876500077";
const CUSTOMER: &str = "9223400077";
const RAIL_HOLD_SECS: u64 = 60;

/// Agent onboarding, services, balance.
const USER: &[Step] = &[
    Step::Check(Sample {
        source: "docs: User Management APIs §1 Onboard User API",
        call: Call {
            capture: &[("user_code", "user_code")],
            ..call(
                "PUT",
                "/ekoapi/v1/user/onboard",
                &[
                    ("pan_number", "ABCPV1234K"),
                    ("mobile", AGENT_MOBILE),
                    ("first_name", "Asha"),
                    ("last_name", "Verma"),
                    ("email", "asha.verma@example.com"),
                    ("residence_address", r#"{"line":"12 MG Road","city":"Gurgaon","state":"Haryana","pincode":"122002"}"#),
                    ("dob", "1990-04-15"),
                    ("shop_name", "Asha General Store"),
                ],
            )
        },
        data: &[("user_code", Str), ("initiator_id", Str)],
        status: Some(0),
        rt: Some(1290),
        rsid: Some(-1),
    }),
    Step::Check(Sample {
        source: "catalogue §3.1 (v3 GET /tools/catalog/service-codes): data.service_list, rt 1280",
        call: call("GET", "/ekoapi/v1/user/services", &[]),
        data: &[("service_list", Arr)],
        status: None,
        rt: Some(1280),
        rsid: None,
    }),
    Step::Setup(call("PUT", "/ekoapi/v1/user/service/activate", &[("service_code", "43"), ("user_code", "{user_code}")])),
    Step::Check(Sample {
        source: "catalogue §3.1 (GET /user/services/user_code:{u}): data.service_status_list[…], rt 1299",
        call: call("GET", "/ekoapi/v1/user/services/user_code:{user_code}", &[]),
        data: &[
            ("service_status_list", Arr),
            ("service_status_list[].service_code", Any),
            ("service_status_list[].status", Any),
            ("service_status_list[].status_desc", Any),
            ("service_status_list[].verification_status", Any),
            ("service_status_list[].comments", Any),
            ("service_status_list[].createdAt", Any),
            ("service_status_list[].updatedAt", Any),
        ],
        status: None,
        rt: Some(1299),
        rsid: None,
    }),
    Step::Check(Sample {
        // Catalogue §2: numbers are frequently strings ("balance":"2.20834002375E9").
        source: "catalogue §3.1 (v3 GET /user/account/balance): data{balance,currency,customer_id,last_used_okekey}, rt 1",
        call: call("GET", "/ekoapi/v1/customers/mobile_number:{initiator_id}/balance", &[]),
        data: &[("balance", Str), ("currency", Any), ("customer_id", Any), ("last_used_okekey", Any)],
        status: None,
        rt: Some(1),
        rsid: None,
    }),
    Step::Check(Sample {
        source: "docs: User Management APIs §1 Onboard User API (v3 PUT /user/account)",
        call: call(
            "PUT",
            "/ekoapi/v3/user/account",
            &[
                ("pan_number", "ABCPV1235K"),
                ("mobile", "9876500078"),
                ("first_name", "Asha"),
                ("last_name", "Verma"),
                ("email", "asha.verma@example.com"),
                ("residence_address", r#"{"line":"12 MG Road","city":"Gurgaon","state":"Haryana","pincode":"122002"}"#),
                ("dob", "1990-04-15"),
                ("shop_name", "Asha General Store"),
            ],
        ),
        data: &[("user_code", Str), ("initiator_id", Str)],
        status: Some(0),
        rt: Some(1290),
        rsid: Some(-1),
    }),
    Step::Check(Sample {
        source: "catalogue §3.1 (v3 GET /tools/catalog/service-codes): data.service_list, rt 1280",
        call: call("GET", "/ekoapi/v3/tools/catalog/service-codes", &[]),
        data: &[("service_list", Arr)],
        status: Some(0),
        rt: Some(1280),
        rsid: None,
    }),
    Step::Check(Sample {
        source: "catalogue §3.1 (v3 GET /user/account/services): as the v1 enquiry, rt 1299",
        call: call("GET", "/ekoapi/v3/user/account/services", &[("user_code", "{user_code}")]),
        data: &[("service_status_list", Arr), ("service_status_list[].service_code", Any), ("service_status_list[].status", Any)],
        status: Some(0),
        rt: Some(1299),
        rsid: None,
    }),
    Step::Check(Sample {
        source: "catalogue §3.1 (v3 GET /user/account/balance): data{balance,currency,customer_id,last_used_okekey}, rt 1",
        call: call(
            "GET",
            "/ekoapi/v3/user/account/balance",
            &[("customer_id", "{initiator_id}"), ("customer_id_type", "mobile_number")],
        ),
        data: &[("balance", Str), ("currency", Any), ("customer_id", Any), ("last_used_okekey", Any)],
        status: Some(0),
        rt: Some(1),
        rsid: None,
    }),
];

/// The sender profile keys of the platform's sender profile samples.
const CUSTOMER_PROFILE: &[(&str, Json)] = &[
    ("customer_profile", Obj),
    ("customer_profile.total_monthly_limit", Str),
    ("customer_profile.mobile", Str),
    ("customer_profile.kyc_id", Str),
    ("customer_profile.ekyc_enabled", Num),
    ("customer_profile.kyc_validity", Str),
    ("customer_profile.kyc_remark", Str),
    ("customer_profile.kyc_type", Str),
    ("customer_profile.balance", Str),
    ("customer_profile.next_allowed_limit", Str),
    ("customer_profile.name", Str),
    ("customer_profile.digital_ekyc", Num),
    ("customer_profile.chart", Arr),
    ("customer_profile.chart[].data_type_id", Num),
    ("customer_profile.chart[].data", Obj),
    ("customer_profile.chart[].data.unavailable", Num),
    ("customer_profile.chart[].data.used", Num),
    ("customer_profile.chart[].data.remaining", Num),
    ("customer_profile.chart[].label", Str),
    ("customer_profile.email", Str),
    ("customer_profile.kyc_state", Num),
];

/// The keys of the platform's DMT transaction sample (identical in the DMT-Levin,
/// DMT-Airtel, DMT-Fino and PPI sections).
const TRANSACTION: &[(&str, Json)] = &[
    ("tx_status", Str),
    ("debit_user_id", Str),
    ("tds", Str),
    ("txstatus_desc", Str),
    ("fee", Str),
    ("total_sent", Str),
    ("channel", Str),
    ("collectable_amount", Str),
    ("txn_wallet", Str),
    ("utility_acc_no", Str),
    ("sender_name", Str),
    ("ekyc_enabled", Str),
    ("remaining_limit_before_pan_required", Num),
    ("tid", Str),
    ("bank", Str),
    ("utrnumber", Str),
    ("insurance_acquired", Str),
    ("balance", Str),
    ("totalfee", Str),
    ("next_allowed_limit", Str),
    ("is_otp_required", Str),
    ("aadhar", Str),
    ("currency", Str),
    ("commission", Str),
    ("pipe", Num),
    ("state", Str),
    ("bank_ref_num", Str),
    ("recipient_id", Num),
    ("timestamp", Str),
    ("amount", Str),
    ("pan_required", Num),
    ("pinNo", Str),
    ("gst_benefit", Str),
    ("payment_mode_desc", Str),
    ("channel_desc", Str),
    ("last_used_okekey", Str),
    ("npr", Str),
    ("insurance_amount", Str),
    ("service_tax", Str),
    ("paymentid", Str),
    ("mdr", Str),
    ("recipient_name", Str),
    ("customer_id", Str),
    ("account", Str),
    ("kyc_state", Str),
];

/// The bank keys of the docs' Bank APIs samples.
const BANK: &[(&str, Json)] = &[
    ("isverificationavailable", Str),
    ("code", Str),
    ("ifsc_status", Num),
    ("user_code", Str),
    ("bank_id", Num),
    ("name", Str),
    ("available_channels", Num),
];

/// Money transfer: customers, recipients, banks, transfers, inquiry, refunds.
const DMT: &[Step] = &[
    Step::Check(Sample {
        // The sample is the v3 direct onboarding (rt 300, no OTP); v1 enrolment sends an OTP
        // and answers 327 (docs status table: "Enrollment done. Verification pending"), README.
        source: "docs: DMT-Levin §1.2 Onboard Customer API; catalogue §3.2: data.otp_ref_id",
        call: call(
            "PUT",
            "/ekoapi/v1/customers/mobile_number:{customer}",
            &[
                ("user_code", "{user_code}"),
                ("name", "Ravi Kumar"),
                ("dob", "1988-02-01"),
                ("residence_address", r#"{"line":"4 Park Street","city":"Kolkata","state":"West Bengal","pincode":"700016"}"#),
            ],
        ),
        data: &[
            ("customer_id_type", Str),
            ("user_code", Str),
            ("state_desc", Str),
            ("state", Str),
            ("customer_id", Str),
            ("otp_ref_id", Any),
        ],
        status: Some(0),
        rt: None,
        rsid: None,
    }),
    Step::Check(Sample {
        source: "catalogue §3.2 (POST /customers/mobile_number:{m}/otp): data.otp_ref_id",
        call: call("POST", "/ekoapi/v1/customers/mobile_number:{customer}/otp", &[("user_code", "{user_code}")]),
        data: &[("otp_ref_id", Any)],
        status: None,
        rt: None,
        rsid: None,
    }),
    Step::Check(Sample {
        // Keys: catalogue §3.3 ("Verify-OTP success returns customer_profile{…}"), typed as
        // the docs' PPI-DigiKhata §1.3 Verify Sender OTP sample; envelope: docs DMT-Fino §1.4
        // Validate Customer eKYC OTP (2132 "Customer Registration Completed").
        source: "docs: DMT-Fino §1.4, PPI-DigiKhata §1.3; catalogue §3.3",
        call: call(
            "PUT",
            "/ekoapi/v1/customers/verification/otp:{otp:{customer}:dmt_customer}",
            &[("user_code", "{user_code}"), ("id_type", "mobile_number"), ("id", "{customer}")],
        ),
        data: CUSTOMER_PROFILE,
        status: Some(0),
        rt: Some(2132),
        rsid: Some(0),
    }),
    Step::Check(Sample {
        source: "docs: DMT-Levin §1.1 Get Sender Profile API (existing sender); Customer Management §1 Response Structure",
        call: call("GET", "/ekoapi/v1/customers/mobile_number:{customer}", &[("user_code", "{user_code}")]),
        data: &[
            // Customer Management §1 names these without a sample (types not stated).
            ("available_limit", Any),
            ("used_limit", Any),
            ("state", Any),
            ("total_limit", Any),
            ("wallet_available_limit", Any),
            ("bc_available_limit", Any),
            ("customer_profile", Obj),
            ("customer_profile.total_monthly_limit", Str),
            ("customer_profile.kyc_state", Num),
            ("customer_profile.ekyc_enabled", Num),
            ("customer_profile.chart[].data.remaining", Num),
            ("wallet_token", Str),
            ("id_proof_type_id", Str),
            ("is_registered", Num),
            ("id_proof", Str),
            ("otpOptionalSum", Str),
            ("sender_name", Str),
            ("otpNotRequiredSum", Str),
            ("ekyc_enabled", Str),
            ("wallet_id", Str),
            ("otpNotRequiredSumNeft", Str),
            ("next_allowed_limit", Num),
            ("kyc_state", Num),
            ("otpOptionalSumNeft", Str),
        ],
        status: Some(0),
        rt: Some(309),
        rsid: Some(-1),
    }),
    Step::Check(Sample {
        source: "docs: DMT-Levin §2.2 Add Recipient API",
        call: Call {
            capture: &[("recipient_id", "recipient_id")],
            ..call(
                "PUT",
                "/ekoapi/v1/customers/mobile_number:{customer}/recipients/acc_ifsc:123456780077_HDFC0000123",
                &[
                    ("user_code", "{user_code}"),
                    ("recipient_name", "Meena Das"),
                    ("recipient_mobile", "9000000077"),
                    ("recipient_type", "3"),
                ],
            )
        },
        data: &[
            ("initiator_id", Str),
            ("recipient_mobile", Str),
            ("recipient_id_type", Str),
            ("customer_id", Str),
            ("pipes", Obj),
            ("recipient_id", Num),
        ],
        status: Some(0),
        rt: Some(43),
        rsid: Some(0),
    }),
    Step::Check(Sample {
        // The sample's response_status_id 0 contradicts the docs' own definition (-1 =
        // success for GET, "Common Response Parameters"), which Kosh follows (README).
        source: "docs: DMT-Levin §2.1 Get Recipients API",
        call: call("GET", "/ekoapi/v1/customers/mobile_number:{customer}/recipients", &[("user_code", "{user_code}")]),
        data: &[
            ("pan_required", Num),
            ("recipient_list", Arr),
            ("recipient_list[].channel_absolute", Num),
            ("recipient_list[].available_channel", Num),
            ("recipient_list[].account_type", Str),
            ("recipient_list[].ifsc_status", Num),
            ("recipient_list[].is_self_account", Str),
            ("recipient_list[].channel", Num),
            ("recipient_list[].is_imps_scheduled", Num),
            ("recipient_list[].recipient_id_type", Str),
            ("recipient_list[].imps_inactive_reason", Str),
            ("recipient_list[].allowed_channel", Num),
            ("recipient_list[].is_verified", Num),
            ("recipient_list[].beneficiary_id", Num),
            ("recipient_list[].bank", Str),
            ("recipient_list[].is_otp_required", Str),
            ("recipient_list[].recipient_mobile", Str),
            ("recipient_list[].recipient_name", Str),
            ("recipient_list[].ifsc", Str),
            ("recipient_list[].account", Str),
            ("recipient_list[].pipes", Obj),
            ("recipient_list[].recipient_id", Num),
            ("recipient_list[].is_rblbc_recipient", Num),
            ("remaining_limit_before_pan_required", Num),
            ("is_insured", Str),
        ],
        status: Some(0),
        rt: Some(23),
        rsid: None,
    }),
    Step::Check(Sample {
        // response_status_id: as the recipients row (a GET answers -1).
        source: "docs: Bank APIs §2 Get Bank Details API",
        call: call("GET", "/ekoapi/v1/banks", &[("bank_code", "IDFB"), ("user_code", "{user_code}")]),
        data: BANK,
        status: Some(0),
        rt: Some(466),
        rsid: None,
    }),
    Step::Check(Sample {
        // The docs' §3 sample is a verbatim copy of §2's (466, no IFSC in it); the platform
        // answers an IFSC lookup with rt 414 "IFSC found" (catalogue §2) and the IFSC's bank,
        // branch and ifsc (docs KYC §1.5 IFSC Verification: bank, branch, ifsc strings).
        source: "docs: Bank APIs §3 Get IFSC Details API, KYC §1.5; catalogue §2 (414)",
        call: call("GET", "/ekoapi/v1/banks", &[("ifsc", "SBIN0001234"), ("user_code", "{user_code}")]),
        data: &[
            ("isverificationavailable", Str),
            ("code", Str),
            ("ifsc_status", Num),
            ("user_code", Str),
            ("bank_id", Num),
            ("name", Str),
            ("available_channels", Num),
            ("bank", Str),
            ("branch", Str),
            ("ifsc", Str),
        ],
        status: Some(0),
        rt: Some(414),
        rsid: None,
    }),
    Step::Check(Sample {
        source: "docs: DMT-Levin §3.2 Initiate DMT-Levin Transaction API",
        call: Call {
            capture: &[("tid", "tid")],
            request: &[
                ("user_code", "{user_code}"),
                ("customer_id", CUSTOMER),
                ("recipient_id", "{recipient_id}"),
                ("client_ref_id", "SHAPEIMPS1"),
                ("amount", "1000"),
                ("timestamp", "2026-12-04T10:00:00Z"),
                ("currency", "INR"),
                ("state", "1"),
                ("channel", "2"),
                ("latlong", "28.4595,77.0266"),
            ],
            ..call("POST", "/ekoapi/v1/transactions", &[])
        },
        data: TRANSACTION,
        status: Some(0),
        rt: Some(325),
        rsid: Some(0),
    }),
    Step::Check(Sample {
        // Types: tx_status a string (catalogue §2), payment_mode "5" and
        // beneficiary_account_type null as in the docs' Common APIs §2 callback sample.
        source: "catalogue §3.4 (transaction inquiry: tx_status … payment_mode, beneficiary_account_type, timestamp; rt 1472)",
        call: call("GET", "/ekoapi/v1/transactions/{tid}", &[]),
        data: &[
            ("tx_status", Str),
            ("txstatus_desc", Any),
            ("tid", Any),
            ("client_ref_id", Any),
            ("amount", Any),
            ("fee", Any),
            ("gst", Any),
            ("bank_ref_num", Any),
            ("account", Any),
            ("ifsc", Any),
            ("recipient_name", Any),
            ("sender_name", Any),
            ("payment_mode", Str),
            ("beneficiary_account_type", Null),
            ("timestamp", Any),
        ],
        status: Some(0),
        rt: Some(1472),
        rsid: None,
    }),
    // A transfer that holds, then fails (account ending 3333): refund pending after the hold.
    Step::Setup(Call {
        capture: &[("fail_recipient_id", "recipient_id")],
        ..call(
            "PUT",
            "/ekoapi/v1/customers/mobile_number:{customer}/recipients/acc_ifsc:123456783333_HDFC0000123",
            &[
                ("user_code", "{user_code}"),
                ("recipient_name", "Meena Das"),
                ("recipient_mobile", "9000000078"),
                ("recipient_type", "3"),
            ],
        )
    }),
    Step::Setup(Call {
        capture: &[("fail_tid", "tid")],
        request: &[
            ("user_code", "{user_code}"),
            ("customer_id", CUSTOMER),
            ("recipient_id", "{fail_recipient_id}"),
            ("client_ref_id", "SHAPEHOLD1"),
            ("amount", "1000"),
            ("timestamp", "2026-12-04T10:00:00Z"),
            ("currency", "INR"),
            ("state", "1"),
            ("channel", "2"),
            ("latlong", "28.4595,77.0266"),
        ],
        ..call("POST", "/ekoapi/v1/transactions", &[])
    }),
    Step::AdvanceSecs(RAIL_HOLD_SECS as i64 + 1),
    // The inquiry of a due transfer asks the rail: the hold ends in refund pending.
    Step::Setup(call("GET", "/ekoapi/v1/transactions/{fail_tid}", &[])),
    Step::Check(Sample {
        // Envelope: the docs' own samples of rt 2133 disagree (Refunds §1, a copy of
        // PPI-DigiKhata §3.1: status 2133, rsid 1; DMT-Fino §3.1: status 0, rsid 0). Kosh
        // answers a success with status 0, as DMT-Fino and the docs' status rule do (README).
        source: "docs: Refunds §1 Get Refund OTP API (data); DMT-Fino §3.1 Send Transaction OTP API (envelope)",
        call: call("POST", "/ekoapi/v1/transactions/{fail_tid}/refund/otp", &[("user_code", "{user_code}")]),
        data: &[("otp_ref_id", Str)],
        status: Some(0),
        rt: Some(2133),
        rsid: Some(0),
    }),
    Step::Check(Sample {
        source: "docs: Refunds §2 Initiate Refund API",
        call: call(
            "POST",
            "/ekoapi/v1/transactions/{fail_tid}/refund",
            &[("user_code", "{user_code}"), ("otp", "{otp:{customer}:dmt_refund:{fail_tid}}"), ("state", "1")],
        ),
        data: &[
            ("refund_tid", Str),
            ("amount", Str),
            ("tds", Str),
            ("balance", Str),
            ("fee", Str),
            ("currency", Str),
            ("commission_reverse", Str),
            ("tid", Str),
            ("timestamp", Str),
            ("refunded_amount", Str),
        ],
        status: Some(0),
        rt: Some(74),
        rsid: Some(0),
    }),
];

/// The keys of an AePS transaction's `data` (catalogue §3.6), strings as in the AePS
/// gateway's `eko-response` sample (seed 001) and catalogue §2.
const AEPS_TRANSACTION: &[(&str, Json)] = &[
    ("tid", Str),
    ("amount", Str),
    ("bank", Str),
    ("bank_ref_num", Str),
    ("balance", Str),
    ("customer_balance", Str),
    ("tds", Str),
    ("commission", Str),
    ("fee", Str),
    ("service_tax", Str),
    ("totalfee", Str),
    ("shop", Str),
    ("shop_address_line1", Str),
    ("sender_name", Str),
    ("merchantname", Str),
    ("merchant_code", Str),
    ("user_code", Str),
    ("aadhar", Str),
    ("aadhaar", Str),
    ("auth_code", Str),
    ("stan", Str),
    ("terminal_id", Str),
    ("tx_status", Str),
    ("transaction_date", Str),
    ("transaction_time", Str),
    ("reason", Str),
    ("comment", Str),
];

const AEPS_HASH: &[&str] = &["aadhar", "amount", "user_code"];

/// AePS: e-KYC, daily authentication, transactions.
const AEPS: &[Step] = &[
    Step::Check(Sample {
        // The docs have no AePS e-KYC section; their only samples of rt 1600/1604 (KYC §4.1,
        // §4.2, whose verify names "the e-KYC OTP Request API") give the envelope and the
        // types of user_code and otp_ref_id; catalogue §3.6 gives the keys.
        source: "docs: KYC §4.1 Send OTP API (rt 1600); catalogue §3.6 (→ 1600, reference_tid, otp_ref_id)",
        call: Call {
            capture: &[("otp_ref_id", "otp_ref_id"), ("reference_tid", "reference_tid")],
            ..call(
                "POST",
                "/ekoapi/v3/user/collection/aeps-fingpay/kyc/otp",
                &[
                    ("user_code", "{user_code}"),
                    ("aadhar", "{aadhaar}"),
                    ("customer_id", AGENT_MOBILE),
                    ("latlong", "28.4595,77.0266"),
                ],
            )
        },
        data: &[("user_code", Str), ("otp_ref_id", Str), ("reference_tid", Str)],
        status: Some(0),
        rt: Some(1600),
        rsid: Some(0),
    }),
    Step::Check(Sample {
        // Sent without otp_ref_id and reference_tid: the answer still names both.
        source: "docs: KYC §4.2 Verify OTP API (rt 1604); catalogue §3.6 (+otp, otp_ref_id, reference_tid → 1604)",
        call: call(
            "PUT",
            "/ekoapi/v3/user/collection/aeps-fingpay/kyc/otp/verify",
            &[("user_code", "{user_code}"), ("otp", "{otp:9876500077:aeps_ekyc}")],
        ),
        data: &[("user_code", Str), ("otp_ref_id", Str), ("reference_tid", Str)],
        status: Some(0),
        rt: Some(1604),
        rsid: Some(0),
    }),
    Step::Check(Sample {
        source: "catalogue §3.6 (PUT …/kyc/biometric → 1605)",
        call: call(
            "PUT",
            "/ekoapi/v3/user/collection/aeps-fingpay/kyc/biometric",
            &[("user_code", "{user_code}"), ("aadhar", "{aadhaar}"), ("piddata", "{pid}"), ("latlong", "28.4595,77.0266")],
        ),
        data: &[],
        status: Some(0),
        rt: Some(1605),
        rsid: None,
    }),
    Step::Check(Sample {
        source: "catalogue §3.6 (daily PUT …/kyc/biometric/daily → 1713)",
        call: call(
            "PUT",
            "/ekoapi/v3/user/collection/aeps-fingpay/kyc/biometric/daily",
            &[("user_code", "{user_code}"), ("aadhar", "{aadhaar}"), ("piddata", "{pid}"), ("latlong", "28.4595,77.0266")],
        ),
        data: &[],
        status: Some(0),
        rt: Some(1713),
        rsid: None,
    }),
    Step::Check(Sample {
        source: "catalogue §3.6 (cash withdrawal → 1463; AePS txn data); seed 001 eko-response sample (types)",
        call: Call { hash: AEPS_HASH, ..call("POST", "/ekoapi/v2/aeps", &AEPS_CW) },
        data: AEPS_TRANSACTION,
        status: Some(0),
        rt: Some(1463),
        rsid: Some(0),
    }),
    Step::Check(Sample {
        source: "catalogue §3.6 (balance enquiry → 1466; AePS txn data)",
        call: Call { hash: AEPS_HASH, ..call("POST", "/ekoapi/v2/aeps", &AEPS_BE) },
        data: AEPS_TRANSACTION,
        status: Some(0),
        rt: Some(1466),
        rsid: Some(0),
    }),
    Step::Check(Sample {
        source: "catalogue §3.6 (mini statement → 1527 with data.mini_statement_list)",
        call: Call { hash: AEPS_HASH, ..call("POST", "/ekoapi/v2/aeps", &AEPS_MS) },
        data: &[("mini_statement_list", Arr), ("tx_status", Str), ("tid", Str)],
        status: Some(0),
        rt: Some(1527),
        rsid: Some(0),
    }),
];

const fn aeps_request(kind: &'static str, amount: &'static str, reference: &'static str) -> [(&'static str, &'static str); 10] {
    [
        ("service_type", kind),
        ("user_code", "{user_code}"),
        ("customer_id", "9812345678"),
        ("bank_code", "SBIN"),
        ("amount", amount),
        ("client_ref_id", reference),
        ("aadhar", "{aadhaar}"),
        ("piddata", "{pid}"),
        ("latlong", "28.4595,77.0266"),
        ("pipe", "0"),
    ]
}
const AEPS_CW: [(&str, &str); 10] = aeps_request("2", "500", "SHAPECW1");
const AEPS_BE: [(&str, &str); 10] = aeps_request("3", "0", "SHAPEBE1");
const AEPS_MS: [(&str, &str); 10] = aeps_request("4", "0", "SHAPEMS1");

struct Env {
    app: App,
    clock: Arc<ManualClock>,
    http: reqwest::Client,
    vars: HashMap<String, String>,
}

impl Env {
    async fn start(backend: Backend) -> Env {
        let clock = ManualClock::new(SystemClock.now_ms());
        let app = eko_support::start_with_clock(backend, clock.clone(), |c| {
            c.timestamp_tolerance_secs = 86_400;
            c.service_review_secs = 0;
            c.rail_hold_secs = RAIL_HOLD_SECS;
        })
        .await;
        let aadhaar = with_check_digit("23456789012").expect("an Aadhaar number");
        let vars = HashMap::from([
            ("initiator_id".to_owned(), Credentials::sandbox().initiator_id),
            ("customer".to_owned(), CUSTOMER.to_owned()),
            ("aadhaar".to_owned(), aadhaar.digits().to_owned()),
            ("pid".to_owned(), simulated_pid(1)),
        ]);
        Env { app, clock, http: reqwest::Client::new(), vars }
    }

    /// `text` with `{name}` replaced by captured values, then `{otp:MOBILE:PURPOSE}` by
    /// the latest sandbox OTP.
    async fn resolve(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (name, value) in &self.vars {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        while let Some(start) = out.find("{otp:") {
            let end = start + out[start..].find('}').expect("a closed {otp:…}");
            let (mobile, purpose) = out[start + 5..end].split_once(':').expect("{otp:MOBILE:PURPOSE}");
            let code = self.otp(mobile, purpose).await;
            out.replace_range(start..=end, &code);
        }
        assert!(unresolved(&out).is_none(), "unresolved placeholder {:?} in {out}", unresolved(&out));
        out
    }

    async fn otp(&self, mobile: &str, purpose: &str) -> String {
        let store = &self.app.state.store;
        let partner =
            store.partner_by_developer_key(&Credentials::sandbox().developer_key).await.expect("read").expect("partner");
        let found = store.sandbox_otp(partner.id, purpose, mobile).await.expect("read");
        found.unwrap_or_else(|| panic!("no OTP for {mobile} ({purpose})")).1
    }

    /// Sends `call`, signed at the server clock's time; answers the JSON body.
    async fn send(&mut self, call: &Call) -> Value {
        let creds = Credentials::sandbox();
        let now = self.clock.now_ms();
        let path = self.resolve(call.path).await;
        let mut params = Map::new();
        for (name, value) in call.request {
            params.insert((*name).to_owned(), json!(self.resolve(value).await));
        }
        params.insert("initiator_id".into(), json!(creds.initiator_id));
        let url = format!("{}{path}", self.app.url());
        let method = reqwest::Method::from_bytes(call.method.as_bytes()).expect("a method");
        let mut req = if method == reqwest::Method::GET {
            let query: Vec<(String, String)> =
                params.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect();
            self.http.get(url).query(&query)
        } else {
            self.http.request(method, url).json(&Value::Object(params.clone()))
        };
        if !call.hash.is_empty() {
            let fields: Vec<&str> = call.hash.iter().map(|f| params[*f].as_str().unwrap_or_default()).collect();
            req = req.header("request_hash", creds.request_hash(now, &fields));
        }
        let (status, body) = eko_support::send(signed_at(req, &creds, now)).await;
        assert_eq!(status, 200, "{} {path}: {body}", call.method);
        for (name, key) in call.capture {
            let value = match &body["data"][*key] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("{} {path}: data.{key} to capture is {other}: {body}", call.method),
            };
            self.vars.insert((*name).to_owned(), value);
        }
        body
    }
}

/// The first `{name}` left in `text` (JSON objects in requests are not placeholders).
fn unresolved(text: &str) -> Option<&str> {
    text.match_indices('{').find_map(|(i, _)| {
        let rest = &text[i + 1..];
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        (len > 0 && rest[len..].starts_with('}')).then(|| &text[i..=i + 1 + len])
    })
}

/// The values at `path` (`a.b`, `a[].b`) inside `value`; `Err` says what is missing.
fn values_at<'a>(value: &'a Value, path: &str) -> Result<Vec<&'a Value>, String> {
    let mut current = vec![value];
    for part in path.split('.') {
        let (name, each) = part.strip_suffix("[]").map_or((part, false), |n| (n, true));
        let mut next = Vec::new();
        for v in current {
            let field = v.get(name).ok_or_else(|| format!("{path}: no key {name:?} in {v}"))?;
            if each {
                let items = field.as_array().filter(|a| !a.is_empty());
                next.extend(items.ok_or_else(|| format!("{path}: {name:?} is not a non-empty array"))?);
            } else {
                next.push(field);
            }
        }
        current = next;
    }
    Ok(current)
}

/// Every way `body` differs from `sample`.
fn mismatches(sample: &Sample, body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, expected) in [("status", sample.status), ("response_type_id", sample.rt), ("response_status_id", sample.rsid)] {
        if let Some(expected) = expected {
            if body[name] != json!(expected) {
                problems.push(format!("{name} is {}, the sample has {expected}", body[name]));
            }
        }
    }
    for (path, kind) in sample.data {
        match values_at(&body["data"], path) {
            Err(missing) => problems.push(missing),
            Ok(values) => {
                for v in values.into_iter().filter(|v| !kind.matches(v)) {
                    problems.push(format!("data.{path} is {v}, the sample has a {kind:?}"));
                }
            }
        }
    }
    problems
}

async fn run(env: &mut Env, steps: &[Step]) -> Vec<String> {
    let mut problems = Vec::new();
    for step in steps {
        match step {
            Step::Setup(call) => {
                env.send(call).await;
            }
            Step::AdvanceSecs(secs) => env.clock.advance_ms(secs * 1000),
            Step::Check(sample) => {
                let body = env.send(&sample.call).await;
                let found = mismatches(sample, &body);
                if !found.is_empty() {
                    problems.push(format!(
                        "{} {} ({}):\n    {}\n    answer: {body}",
                        sample.call.method,
                        sample.call.path,
                        sample.source,
                        found.join("\n    ")
                    ));
                }
            }
        }
    }
    problems
}

async fn every_served_endpoint_answers_the_docs_sample_shape(backend: Backend) {
    let mut env = Env::start(backend).await;
    let mut problems = Vec::new();
    for steps in [USER, DMT, AEPS] {
        problems.extend(run(&mut env, steps).await);
    }
    let checked = [USER, DMT, AEPS].iter().flat_map(|s| s.iter()).filter(|s| matches!(s, Step::Check(_))).count();
    assert!(problems.is_empty(), "{} of {checked} samples differ:\n{}", problems.len(), problems.join("\n"));
    env.app.stop().await;
}
