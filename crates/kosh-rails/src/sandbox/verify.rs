//! The sandbox verification provider: deterministic, plausible and internally consistent
//! answers for every kind, chosen by documented magic values (the README lists them):
//!
//! | subject | magic value | answer |
//! |---|---|---|
//! | PAN (digits 6–9) | `0000` | does not exist (negative, fee kept) |
//! | PAN | `1111` | exists, under a name that matches no name sent (name mismatch) |
//! | PAN | `5555` | the PAN registry is down (fee refunded) |
//! | bank account (last 4) | `1111` | closed or invalid (negative, fee refunded as the platform does) |
//! | bank account | `5555` | the bank is down (fee refunded) |
//! | bank account | `6666` | verified, but the bank shares no name (`recipient_name` "Unknown") |
//! | bank account | bank without verification | verification not available (negative, refunded) |
//! | Aadhaar (first 4 digits) | `9999` | no mobile is linked: the OTP step fails |
//! | vehicle, DL, voter ID, passport (last 4), CIN (last 6), GSTIN's PAN | `0000` / `000000` | not found |
//! | face match | the same image twice | match (score 100); different images do not match |
//!
//! Everything else verifies, with names and dates derived from the subject: a PAN's
//! holder surname starts with the PAN's fifth letter; a GSTIN's legal name is its PAN's
//! name; an RC's registration date precedes its expiry by 15 years.

use crate::verify::{Answer, Part, ProviderError, VerificationProvider, VerifyFuture, VerifyRequest};
use kosh_core::aadhaar;
use kosh_core::banks::{self, Ifsc};
use kosh_core::civil;
use kosh_core::verification::{ids, names};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The sandbox provider; `step_ms` paces answers that come later.
#[derive(Debug, Clone)]
pub struct SandboxVerifier {
    /// Each bulk entry is answered this long after the previous one; a DigiLocker journey takes this long.
    pub step_ms: i64,
}

const FIRST_NAMES: &[&str] = &["Asha", "Rahul", "Priya", "Vikram", "Neha", "Arjun", "Kavita", "Suresh", "Meera", "Anil"];
/// One surname per letter, so a PAN's fifth letter (its holder's surname initial) picks it.
const SURNAMES: [&str; 26] = [
    "Agarwal",
    "Bose",
    "Chopra",
    "Das",
    "Eapen",
    "Fernandes",
    "Gupta",
    "Hegde",
    "Iyer",
    "Joshi",
    "Kumar",
    "Lal",
    "Mehta",
    "Nair",
    "Oberoi",
    "Patel",
    "Qureshi",
    "Rao",
    "Sharma",
    "Thakur",
    "Upadhyay",
    "Verma",
    "Wadia",
    "Xavier",
    "Yadav",
    "Zaveri",
];
const CITIES: &[(&str, &str, &str, f64, f64, &str)] = &[
    ("New Delhi", "Delhi", "DL", 28.6139, 77.2090, "110001"),
    ("Mumbai", "Maharashtra", "MH", 19.0760, 72.8777, "400001"),
    ("Bengaluru", "Karnataka", "KA", 12.9716, 77.5946, "560001"),
    ("Chennai", "Tamil Nadu", "TN", 13.0827, 80.2707, "600001"),
    ("Kolkata", "West Bengal", "WB", 22.5726, 88.3639, "700001"),
    ("Hyderabad", "Telangana", "TG", 17.3850, 78.4867, "500001"),
    ("Gurugram", "Haryana", "HR", 28.4595, 77.0266, "122001"),
    ("Jaipur", "Rajasthan", "RJ", 26.9124, 75.7873, "302001"),
];

/// A stable number from `parts`.
fn hash(parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

fn pick<'a>(list: &[&'a str], seed: u64) -> &'a str {
    list[usize::try_from(seed % list.len() as u64).unwrap_or(0)]
}

/// The name registered for a PAN: a person whose surname starts with its fifth letter
/// (P holders), else a business.
pub fn pan_holder(pan: &str) -> (String, String) {
    if pan.get(5..9) == Some("1111") {
        return ("Rajesh".into(), "Khanna".into());
    }
    let letter = pan.as_bytes().get(4).copied().unwrap_or(b'K');
    let surname = SURNAMES[usize::from(letter.saturating_sub(b'A')).min(25)];
    let first = pick(FIRST_NAMES, hash(&["pan", pan]));
    if pan.as_bytes().get(3) == Some(&b'P') || pan == kosh_core::validate::DOCS_EXAMPLE_PAN {
        (first.into(), surname.into())
    } else {
        (surname.into(), "Traders".into())
    }
}

fn date(seed: u64, from_year: i64, span_years: i64) -> String {
    let start = civil::Date::parse_iso(&format!("{from_year}-01-01")).map_or(0, civil::Date::to_days);
    civil::Date::from_days(start + i64::try_from(seed % (span_years.max(1) as u64 * 365)).unwrap_or(0)).to_iso()
}

fn field<'a>(r: &'a VerifyRequest, name: &str) -> &'a str {
    r.fields.get(name).map_or("", String::as_str)
}

fn not_found(what: &str) -> Answer {
    Answer::Negative { message: format!("{what} not found"), data: json!({}) }
}

fn city(seed: u64) -> (&'static str, &'static str, &'static str, f64, f64, &'static str) {
    CITIES[usize::try_from(seed % CITIES.len() as u64).unwrap_or(0)]
}

fn split_address(seed: u64) -> Value {
    let (city, state, _, _, _, pin) = city(seed);
    json!({ "district": [city], "state": [[state]], "city": [city], "pincode": pin, "country": ["India"],
            "address_line": format!("{} MG Road", seed % 200 + 1) })
}

impl SandboxVerifier {
    fn answer(&self, r: &VerifyRequest) -> Result<Answer, ProviderError> {
        match r.kind {
            "bank_account" | "bank_account_penny_drop" | "bank_account_penniless" => {
                bank_account(field(r, "acc_num"), field(r, "id_type"), field(r, "id"))
            }
            "bank_account_bulk" | "pan_bulk" => Ok(self.bulk(r)),
            "ifsc" => Ok(ifsc(field(r, "ifsc"))),
            "pan" | "pan_basic" => pan_basic(field(r, "pan_number")),
            "pan_lite" => pan_lite(field(r, "pan"), field(r, "name"), field(r, "dob")),
            "pan_advanced" => pan_advanced(field(r, "pan"), field(r, "name"), field(r, "dob")),
            "aadhaar_consent" => Ok(Answer::Found(json!({ "message": "Consent Accepted" }))),
            "aadhaar_otp" => Ok(aadhaar_otp(field(r, "aadhar"))),
            "aadhaar_xml" => Ok(aadhaar_xml(field(r, "aadhar"))),
            "mobile_otp" | "mobile_otp_verify" => Ok(Answer::Found(json!({}))),
            "face_match" => Ok(face_match(r)),
            "gstin" => Ok(gstin(field(r, "GSTIN"), field(r, "business_name"))),
            "gstin_with_pan" => Ok(gstin_with_pan(field(r, "pan"))),
            "digilocker" => Ok(self.digilocker(r)),
            "vehicle_rc" => Ok(vehicle(field(r, "vehicle_number"))),
            "driving_license" => Ok(driving_licence(field(r, "dl_number"), field(r, "dob"))),
            "voter_id" => Ok(voter(field(r, "epic_number"), field(r, "name"))),
            "passport" => Ok(passport(field(r, "file_number"), field(r, "dob"), field(r, "name"))),
            "cin" => Ok(cin(field(r, "cin"))),
            "employment" => Ok(employment(r)),
            "ip" => Ok(ip(field(r, "ip_address"))),
            "reverse_geocoding" => Ok(reverse_geocoding(field(r, "latitude"), field(r, "longitude"))),
            "name_match" => Ok(name_match(field(r, "name_1"), field(r, "name_2"))),
            other => Err(ProviderError::Unavailable(format!("the sandbox provider has no data for kind {other}"))),
        }
    }

    /// Each entry answered `step_ms` after the previous one, as its single kind answers.
    fn bulk(&self, r: &VerifyRequest) -> Answer {
        let entries: Vec<Value> = serde_json::from_str(field(r, "entries")).unwrap_or_default();
        let parts = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let text = |k: &str| e[k].as_str().unwrap_or("").to_owned();
                let reference_id = format!("{}-{}", r.tid, i + 1);
                let data = if r.kind == "pan_bulk" {
                    bulk_pan(&text("pan"), &text("name"), &reference_id, r.now_ms)
                } else {
                    bulk_bank(&text("bank_account"), &text("ifsc"), &text("name"), &reference_id)
                };
                Part { ready_at_ms: r.now_ms + self.step_ms * (i as i64 + 1), data }
            })
            .collect();
        Answer::Later(parts)
    }

    fn digilocker(&self, r: &VerifyRequest) -> Answer {
        let seed = hash(&["digilocker", &r.tid.to_string()]);
        let name = format!("{} {}", pick(FIRST_NAMES, seed), SURNAMES[usize::try_from(seed % 26).unwrap_or(0)]);
        let uid = aadhaar::with_check_digit(&format!("{}", 20_000_000_000 + seed % 70_000_000_000))
            .map_or_else(String::new, |a| a.digits().to_owned());
        let (city, state, _, _, _, pin) = city(seed);
        let data = json!({
            "user_details": { "name": name, "dob": date(seed, 1970, 30), "gender": if seed.is_multiple_of(2) { "Male" } else { "Female" },
                              "eaadhaar": "Available", "mobile": format!("98{:08}", seed % 100_000_000) },
            "document_requested": ["AADHAAR"], "document_consent": ["Y"],
            "redirect_url": redirect_url(field(r, "redirect_url"), r.tid),
            "document": { "care_of": format!("{} {}", pick(FIRST_NAMES, seed / 7), SURNAMES[usize::try_from(seed % 26).unwrap_or(0)]),
                "dob": date(seed, 1970, 30), "gender": if seed.is_multiple_of(2) { "Male" } else { "Female" }, "name": name,
                "photo_link": format!("https://sandbox.kosh.invalid/digilocker/{}/photo.jpg", r.tid),
                "split_address": { "country": "India", "dist": city, "house": format!("{}", seed % 300 + 1), "landmark": "Near Post Office",
                    "pincode": pin, "po": city, "state": state, "street": "MG Road", "subdist": city, "vtc": city },
                "uid": uid, "reference_id": r.tid },
        });
        Answer::Later(vec![Part { ready_at_ms: r.now_ms + self.step_ms, data }])
    }
}

/// Where DigiLocker sends the customer back: the partner's URL with the verification id.
fn redirect_url(url: &str, tid: i64) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}verification_id={tid}")
}

impl VerificationProvider for SandboxVerifier {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn verify<'a>(&'a self, request: &'a VerifyRequest) -> VerifyFuture<'a> {
        Box::pin(async move { self.answer(request) })
    }
}

fn bank_account(account: &str, id_type: &str, id: &str) -> Result<Answer, ProviderError> {
    let bank = if id_type == "ifsc" { Ifsc::parse(id).ok().and_then(|i| banks::by_ifsc(&i)) } else { banks::find(id) };
    let Some(bank) = bank.filter(|b| b.verification) else {
        return Ok(Answer::Negative {
            message: "Recipient name not found and verification not available for this bank".into(),
            data: json!({ "bank": bank.map_or("", |b| b.name) }),
        });
    };
    let suffix = account.get(account.len().saturating_sub(4)..).unwrap_or("");
    let ifsc = if id_type == "ifsc" { id.to_owned() } else { String::new() };
    let base = |name: &str| json!({ "bank": bank.name, "recipient_name": name, "ifsc": ifsc, "account": account });
    match suffix {
        "5555" => Err(ProviderError::Unavailable(format!("{} is not responding; try again later", bank.name))),
        "1111" => {
            Ok(Answer::Negative { message: "Invalid account: the account is closed or does not exist".into(), data: base("") })
        }
        "6666" => {
            Ok(Answer::Found(json!({ "name_shared": false, "message": "The bank did not share the recipient name this time.",
            "bank": bank.name, "recipient_name": "Unknown", "ifsc": ifsc, "account": account })))
        }
        _ => {
            let seed = hash(&["account", account]);
            let name = format!("{} {}", pick(FIRST_NAMES, seed), SURNAMES[usize::try_from(seed % 26).unwrap_or(0)]);
            Ok(Answer::Found(base(&name)))
        }
    }
}

fn bulk_bank(account: &str, ifsc: &str, given: &str, reference_id: &str) -> Value {
    let (city, _, _, _, _, _) = city(hash(&["ifsc", ifsc]));
    let bank = Ifsc::parse(ifsc).ok().and_then(|i| banks::by_ifsc(&i));
    let answer = bank_account(account, "ifsc", ifsc);
    let (name, status, code) = match &answer {
        Ok(Answer::Found(d)) => (d["recipient_name"].as_str().unwrap_or("").to_owned(), "Verified", "1"),
        Ok(_) => (String::new(), "Invalid", "2"),
        Err(_) => (String::new(), "Bank down", "3"),
    };
    let (score, result) = if given.is_empty() || name.is_empty() {
        (String::new(), String::new())
    } else {
        let s = names::score(given, &name).0;
        (format!("{s}%"), if names::matches(s) { "Match" } else { "No match" }.to_owned())
    };
    json!({ "reference_id": reference_id, "bank_account": account, "ifsc": ifsc, "name_at_bank": name,
            "bank_name": bank.map_or("", |b| b.name), "utr": if code == "1" { format!("SBX{}", hash(&[reference_id]) % 1_000_000_000) } else { String::new() },
            "city": city, "branch": format!("{city} Main"), "micr": format!("{}", 100_000_000 + hash(&[ifsc]) % 800_000_000),
            "name_match_score": score, "name_match_result": result, "account_status": status, "account_status_code": code })
}

fn ifsc(ifsc: &str) -> Answer {
    let bank = Ifsc::parse(ifsc).ok().and_then(|i| banks::by_ifsc(&i));
    let Some(bank) = bank else { return not_found("IFSC") };
    let seed = hash(&["ifsc", ifsc]);
    let (city, state, _, _, _, pin) = city(seed);
    let available = |on: bool| if on { "Available" } else { "Not available" };
    Answer::Found(json!({
        "bank": bank.name, "ifsc": ifsc,
        "neft": available(bank.channels.allows(kosh_core::dmt::DmtChannel::Neft)),
        "imps": available(bank.channels.allows(kosh_core::dmt::DmtChannel::Imps)),
        "rtgs": "Available", "upi": "Available", "ft": "Available", "card": "Not available",
        "micr": 100_000_000 + seed % 800_000_000, "nbin": 1000 + seed % 9000,
        "address": format!("{} MG Road, {city} {pin}", seed % 200 + 1), "city": city, "state": state,
        "branch": format!("{city} Main"), "ifsc_subcode": &ifsc[5..], "category": "Scheduled Commercial Bank",
        "swift_code": format!("{}INBB", bank.code),
    }))
}

fn pan_down(pan: &str) -> Result<(), ProviderError> {
    if pan.get(5..9) == Some("5555") {
        return Err(ProviderError::Unavailable("the PAN registry (NSDL) is not responding; try again later".into()));
    }
    Ok(())
}

fn pan_missing(pan: &str) -> bool {
    pan.get(5..9) == Some("0000")
}

fn pan_basic(pan: &str) -> Result<Answer, ProviderError> {
    pan_down(pan)?;
    if pan_missing(pan) {
        return Ok(Answer::Negative {
            message: "Invalid PAN: no PAN holder has this number".into(),
            data: json!({ "pan_number": pan }),
        });
    }
    let (first, last) = pan_holder(pan);
    Ok(Answer::Found(json!({
        "pan_number": pan, "aadhaar_seeding_status": "Y", "gender": "M", "pan_returned_name": format!("{first} {last}"),
        "last_name": last, "aadhaar_seeding_status_code": "Y", "middle_name": "", "title": "Shri", "first_name": first,
    })))
}

/// The name a PAN is registered under, as a KYC check compares it with `given`: the
/// name sent (a sandbox PAN belongs to whoever asks) unless the PAN is the mismatch one.
fn registered_name(pan: &str, given: &str) -> String {
    let (first, last) = pan_holder(pan);
    if pan.get(5..9) == Some("1111") || given.is_empty() {
        format!("{first} {last}")
    } else {
        given.to_owned()
    }
}

fn pan_lite(pan: &str, name: &str, dob: &str) -> Result<Answer, ProviderError> {
    pan_down(pan)?;
    if pan_missing(pan) {
        return Ok(Answer::Negative {
            message: "Invalid PAN: no PAN holder has this number".into(),
            data: json!({ "pan": pan, "status": "INVALID", "pan_status": "N" }),
        });
    }
    let matched = names::matches(names::score(name, &registered_name(pan, name)).0);
    Ok(Answer::Found(json!({
        "pan": pan, "name": name, "dob": dob, "name_match": if matched { "Y" } else { "N" }, "dob_match": if matched { "Y" } else { "N" },
        "pan_status": "E", "status": "VALID", "aadhaar_seeding_status": "Y", "aadhaar_seeding_status_desc": "Linked",
    })))
}

fn pan_advanced(pan: &str, name: &str, dob: &str) -> Result<Answer, ProviderError> {
    pan_down(pan)?;
    if pan_missing(pan) {
        return Ok(Answer::Negative {
            message: "Invalid PAN: no PAN holder has this number".into(),
            data: json!({ "pan": pan }),
        });
    }
    let registered = registered_name(pan, name);
    let seed = hash(&["pan", pan]);
    let (city, state, _, _, _, pin) = city(seed);
    let (first, last) = registered.rsplit_once(' ').map_or((registered.as_str(), ""), |(f, l)| (f, l));
    Ok(Answer::Found(json!({
        "pan": pan, "name_provided": name, "registered_name": registered, "name_pan_card": registered.to_uppercase(),
        "first_name": first, "last_name": last, "type": if pan.as_bytes().get(3) == Some(&b'P') { "Individual" } else { "Company" },
        "gender": "M", "date_of_birth": dob,
        "masked_aadhaar_number": format!("XXXXXXXX{:04}", seed % 10_000), "email": "", "mobile_number": "", "aadhaar_linked": true,
        "name_match": names::matches(names::score(name, &registered).0),
        "address": { "full_address": format!("{} MG Road, {city}, {state} {pin}", seed % 200 + 1), "street": "MG Road",
                     "city": city, "state": state, "pincode": pin.parse::<i64>().unwrap_or(0), "country": "India" },
    })))
}

fn bulk_pan(pan: &str, given: &str, reference_id: &str, now_ms: i64) -> Value {
    let (first, last) = pan_holder(pan);
    let registered = registered_name(pan, given);
    let valid = !pan_missing(pan) && pan.get(5..9) != Some("5555");
    let score = if given.is_empty() || !valid { 0 } else { names::score(given, &registered).0 };
    json!({ "pan": pan, "type": if pan.as_bytes().get(3) == Some(&b'P') { "Individual" } else { "Company" },
            "reference_id": reference_id, "name_provided": given, "registered_name": if valid { registered.clone() } else { String::new() },
            "valid": if valid { "true" } else { "false" }, "father_name": if valid { format!("{} {last}", pick(FIRST_NAMES, hash(&[pan, "father"]))) } else { String::new() },
            "message": if valid { "PAN verified" } else if pan_missing(pan) { "PAN does not exist" } else { "PAN registry unavailable" },
            "name_match_score": if given.is_empty() { String::new() } else { format!("{score}") },
            "name_match_result": if given.is_empty() { "" } else if names::matches(score) { "Match" } else { "No match" },
            "aadhaar_seeding_status": if valid { "Y" } else { "" }, "last_updated_at": civil::iso_utc(now_ms),
            "name_pan_card": if valid { format!("{first} {last}").to_uppercase() } else { String::new() },
            "pan_status": if valid { "E" } else { "N" }, "aadhaar_seeding_status_desc": if valid { "Linked" } else { "" } })
}

/// The mobile linked to a sandbox Aadhaar number (none for numbers starting 9999).
pub fn aadhaar_mobile(aadhaar: &str) -> Option<String> {
    (!aadhaar.starts_with("9999")).then(|| format!("9{:09}", hash(&["aadhaar-mobile", aadhaar]) % 1_000_000_000))
}

fn aadhaar_otp(aadhaar: &str) -> Answer {
    match aadhaar_mobile(aadhaar) {
        None => Answer::Negative { message: "No mobile number is linked to this Aadhaar number".into(), data: json!({}) },
        Some(mobile) => Answer::Found(json!({ "message": "OTP sent to registered mobile number", "otp_mobile": mobile })),
    }
}

fn aadhaar_xml(aadhaar: &str) -> Answer {
    let seed = hash(&["aadhaar", aadhaar]);
    let (city, state, _, _, _, pin) = city(seed);
    let name = format!("{} {}", pick(FIRST_NAMES, seed), SURNAMES[usize::try_from(seed % 26).unwrap_or(0)]);
    Answer::Found(json!({
        "name": name, "dob": date(seed, 1965, 35), "gender": if seed.is_multiple_of(2) { "M" } else { "F" },
        "aadhaar": format!("XXXXXXXX{}", &aadhaar[8..]), "mobile": aadhaar_mobile(aadhaar).unwrap_or_default(),
        "care_of": format!("S/O {} {}", pick(FIRST_NAMES, seed / 3), SURNAMES[usize::try_from(seed % 26).unwrap_or(0)]),
        "address": { "house": format!("{}", seed % 300 + 1), "street": "MG Road", "vtc": city, "dist": city, "state": state,
                     "pincode": pin, "country": "India" },
        "share_code_used": true,
    }))
}

fn face_match(r: &VerifyRequest) -> Answer {
    let (a, b) = (field(r, "image_1"), field(r, "image_2"));
    let same = a == b;
    let score = if same { 100 } else { 20 + hash(&[a, b]) % 50 };
    Answer::Found(json!({
        "requestId": format!("sbx-{}", r.tid),
        "result": { "match": if same { "yes" } else { "no" }, "matchScore": score, "reviewNeeded": if same { "no" } else { "yes" },
                    "confidence": if same { 96.2 } else { 40.0 } },
        "statusCode": 101,
    }))
}

fn gstin_of(state: u8, pan: &str, entity: char) -> String {
    let first = format!("{state:02}{pan}{entity}Z");
    format!("{first}{}", ids::gstin_check_char(&first).unwrap_or('0'))
}

fn state_of_code(code: &str) -> &'static str {
    match code {
        "07" => "Delhi",
        "27" => "Maharashtra",
        "29" => "Karnataka",
        "33" => "Tamil Nadu",
        "06" => "Haryana",
        _ => "Other Territory",
    }
}

fn gstin(gstin: &str, business_name: &str) -> Answer {
    let pan = &gstin[2..12];
    if pan_missing(pan) {
        return not_found("GSTIN");
    }
    let (first, last) = pan_holder(pan);
    let legal = if pan.as_bytes()[3] == b'P' { format!("{first} {last}") } else { format!("{first} {last} Pvt Ltd") };
    let seed = hash(&["gstin", gstin]);
    let state = state_of_code(&gstin[..2]);
    let address = json!({ "building_name": format!("{} Tower", last), "street": "MG Road", "location": state, "district": state,
        "state": state, "city": state, "flat_number": format!("{}", seed % 90 + 1), "latitude": "", "longitude": "", "pincode": "" });
    Answer::Found(json!({
        "GSTIN": gstin, "additional_address_array": [], "cancellation_date": "", "center_jurisdiction": format!("{state} Central"),
        "constitution_of_business": if pan.as_bytes()[3] == b'P' { "Proprietorship" } else { "Private Limited Company" },
        "date_of_registration": date(seed, 2017, 7), "gst_in_status": "Active", "last_update_date": date(seed / 3, 2024, 1),
        "legal_name_of_business": legal, "trade_name": business_name, "pan": pan,
        "name_match": names::matches(names::score(business_name, &legal).0),
        "message": "GSTIN Verified", "nature_of_business_activities": "Retail Business",
        "principal_place_address": format!("{} Tower, MG Road, {state}", last), "principal_place_split_address": address,
        "state_jurisdiction": state, "status_code": 1, "taxpayer_type": "Regular", "valid": true,
    }))
}

fn gstin_with_pan(pan: &str) -> Answer {
    if pan_missing(pan) {
        return Answer::Negative {
            message: "No GSTIN is registered for this PAN".into(),
            data: json!({ "pan": pan, "gstin_list": [] }),
        };
    }
    Answer::Found(json!({ "pan": pan, "gstin_list": [
        { "gstin": gstin_of(27, pan, '1'), "status": "Active", "state": "Maharashtra" },
        { "gstin": gstin_of(29, pan, '1'), "status": "Inactive", "state": "Karnataka" },
    ] }))
}

fn suffix_is(value: &str, magic: &str) -> bool {
    value.ends_with(magic)
}

fn vehicle(number: &str) -> Answer {
    if suffix_is(number, "0000") {
        return not_found("Vehicle RC");
    }
    let seed = hash(&["rc", number]);
    let reg = date(seed, 2008, 15);
    let year: i64 = reg[..4].parse().unwrap_or(2010);
    let owner = format!("{} {}", pick(FIRST_NAMES, seed), SURNAMES[usize::try_from(seed % 26).unwrap_or(0)]);
    let (model, maker) = [("Swift", "Maruti Suzuki"), ("i20", "Hyundai"), ("Nexon", "Tata Motors"), ("City", "Honda")]
        [usize::try_from(seed % 4).unwrap_or(0)];
    Answer::Found(json!({
        "reference_id": seed % 1_000_000, "status": "Active", "reg_no": number, "class": "Motor Car (LMV)",
        "chassis": format!("MA3{:014}", seed % 100_000_000_000_000), "engine": format!("K12M{:07}", seed % 10_000_000),
        "vehicle_manufacturer_name": maker, "model": model, "vehicle_color": "White", "type": "Petrol", "norms_type": "BS VI",
        "body_type": "Hatchback", "owner_count": "1", "owner": owner, "owner_father_name": format!("{} {}", pick(FIRST_NAMES, seed / 5), owner.rsplit(' ').next().unwrap_or("")),
        "mobile_number": "", "rc_status": "Active", "status_as_on": date(seed, 2025, 1),
        "reg_authority": format!("{} RTO", &number[..2]), "reg_date": reg,
        "vehicle_manufacturing_month_year": format!("{}-{:02}", year - 1, seed % 12 + 1),
        "rc_expiry_date": format!("{}{}", year + 15, &reg[4..]), "vehicle_tax_upto": format!("{}{}", year + 15, &reg[4..]),
        "vehicle_insurance_company_name": "Sandbox General Insurance", "vehicle_insurance_upto": format!("2026{}", &reg[4..]),
        "vehicle_insurance_policy_number": format!("POL{}", seed % 1_000_000_000), "rc_financer": "",
        "present_address": "MG Road", "split_present_address": split_address(seed), "permanent_address": "MG Road",
        "split_permanent_address": split_address(seed), "vehicle_cubic_capacity": "1197", "gross_vehicle_weight": "1335",
        "unladen_weight": "880", "vehicle_category": "LMV", "rc_standard_cap": "", "vehicle_cylinders_no": "4",
        "vehicle_seat_capacity": "5", "vehicle_sleeper_capacity": "0", "vehicle_standing_capacity": "0", "wheelbase": "2450",
        "vehicle_number": number, "pucc_number": format!("PUC{}", seed % 1_000_000), "pucc_upto": format!("2026{}", &reg[4..]),
        "blacklist_status": "No", "blacklist_details": {}, "challan_details": {}, "permit_issue_date": "", "permit_number": "",
        "permit_type": "", "permit_valid_from": "", "permit_valid_upto": "", "non_use_status": "No", "non_use_from": "",
        "non_use_to": "", "national_permit_number": "", "national_permit_upto": "", "national_permit_issued_by": "",
        "is_commercial": false, "noc_details": {},
    }))
}

fn driving_licence(number: &str, dob: &str) -> Answer {
    if suffix_is(number, "0000") {
        return not_found("Driving licence");
    }
    let seed = hash(&["dl", number]);
    let issued = format!("{}-{:02}-{:02}", &number[4..8], seed % 12 + 1, seed % 28 + 1);
    let until = format!("{}{}", number[4..8].parse::<i64>().unwrap_or(2010) + 20, &issued[4..]);
    let name = format!("{} {}", pick(FIRST_NAMES, seed), SURNAMES[usize::try_from(seed % 26).unwrap_or(0)]);
    Answer::Found(json!({
        "dl_number": number, "dob": dob, "status": "Valid",
        "badge_details": [{ "badge_issue_date": issued, "badge_no": "", "class_of_vehicle": ["LMV", "MCWG"] }],
        "dl_validity": { "non_transport": { "from": issued, "to": until }, "hazardous_valid_till": "", "transport": { "from": "", "to": "" }, "hill_valid_till": "" },
        "details_of_driving_licence": { "date_of_issue": issued, "date_of_last_transaction": issued, "status": "Active",
            "last_transacted_at": format!("{} RTO", &number[..2]), "name": name,
            "father_or_husband_name": format!("{} {}", pick(FIRST_NAMES, seed / 3), name.rsplit(' ').next().unwrap_or("")),
            "address_list": [{ "complete_address": "MG Road", "type": "Permanent", "split_address": split_address(seed) }],
            "photo": "", "cov_details": [{ "class_of_vehicle": "LMV" }, { "class_of_vehicle": "MCWG" }] },
    }))
}

fn voter(epic: &str, given: &str) -> Answer {
    if suffix_is(epic, "0000") {
        return not_found("Voter ID");
    }
    let seed = hash(&["epic", epic]);
    let name = if given.is_empty() {
        format!("{} {}", pick(FIRST_NAMES, seed), SURNAMES[usize::try_from(seed % 26).unwrap_or(0)])
    } else {
        given.to_owned()
    };
    let dob = date(seed, 1960, 40);
    let age = 2026 - dob[..4].parse::<i64>().unwrap_or(1980);
    let (city, state, _, _, _, _) = city(seed);
    let father = format!("{} {}", pick(FIRST_NAMES, seed / 3), name.rsplit(' ').next().unwrap_or(""));
    Answer::Found(json!({
        "name": name, "name_in_regional_lang": "", "age": age.to_string(), "relation_type": "Father", "relation_name": father,
        "relation_name_in_regional_lang": "", "father_name": father, "dob": dob, "gender": if seed.is_multiple_of(2) { "Male" } else { "Female" },
        "address": format!("MG Road, {city}"), "split_address": split_address(seed), "epic_number": epic, "state": state,
        "assembly_constituency_number": format!("{}", seed % 200 + 1), "assembly_constituency": format!("{city} Central"),
        "parliamentary_constituency_number": format!("{}", seed % 40 + 1), "parliamentary_constituency": city,
        "part_number": format!("{:03}", seed % 300), "part_name": format!("{city}-{:02}", seed % 50), "serial_number": format!("{}", seed % 1500),
        "polling_station": format!("Government School, {city}"),
    }))
}

fn passport(file: &str, dob: &str, given: &str) -> Answer {
    if suffix_is(file, "0000") {
        return not_found("Passport application");
    }
    let seed = hash(&["passport", file]);
    let name = if given.is_empty() {
        format!("{} {}", pick(FIRST_NAMES, seed), SURNAMES[usize::try_from(seed % 26).unwrap_or(0)])
    } else {
        given.to_owned()
    };
    Answer::Found(
        json!({ "file_number": file, "name": name, "dob": dob, "application_type": if seed.is_multiple_of(3) { "Reissue" } else { "Fresh" },
        "application_received_date": date(seed, 2015, 10) }),
    )
}

fn cin(cin: &str) -> Answer {
    if suffix_is(cin, "000000") {
        return not_found("CIN");
    }
    let seed = hash(&["cin", cin]);
    let year = &cin[8..12];
    let surname = SURNAMES[usize::try_from(seed % 26).unwrap_or(0)];
    let director = |i: u64| {
        json!({ "dob": date(seed / (i + 2), 1950, 30), "designation": if i == 0 { "Managing Director" } else { "Director" },
        "address": format!("MG Road, {}", city(seed / (i + 3)).0), "din": format!("{:08}", (seed / (i + 5)) % 100_000_000),
        "name": format!("{} {surname}", pick(FIRST_NAMES, seed / (i + 7))) })
    };
    Answer::Found(
        json!({ "cin": cin, "company_name": format!("{surname} Industries {} Limited", if &cin[12..15] == "PTC" { "Private" } else { "" }).replace("  ", " "),
        "registration_number": cin[15..].parse::<i64>().unwrap_or(0), "incorporation_date": format!("{year}-{:02}-{:02}", seed % 12 + 1, seed % 28 + 1),
        "cin_status": "Active", "email": format!("info@{}-industries.example", surname.to_lowercase()), "incorporation_country": "India",
        "director_details": [director(0), director(1)] }),
    )
}

fn employment(r: &VerifyRequest) -> Answer {
    let key = [field(r, "phone"), field(r, "pan"), field(r, "uan")].concat();
    let seed = hash(&["employment", &key]);
    let uan = if field(r, "uan").is_empty() { format!("1{:011}", seed % 100_000_000_000) } else { field(r, "uan").to_owned() };
    let name = if field(r, "employee_name").is_empty() {
        format!("{} {}", pick(FIRST_NAMES, seed), SURNAMES[usize::try_from(seed % 26).unwrap_or(0)])
    } else {
        field(r, "employee_name").to_owned()
    };
    let employer = if field(r, "employer_name").is_empty() {
        format!("{} Technologies Pvt Ltd", SURNAMES[usize::try_from(seed / 3 % 26).unwrap_or(0)])
    } else {
        field(r, "employer_name").to_owned()
    };
    let joined = date(seed, 2015, 8);
    Answer::Found(json!({
        "input": { "phone": field(r, "phone"), "pan": field(r, "pan"), "uan": field(r, "uan"), "dob": field(r, "dob"),
                   "employee_name": field(r, "employee_name"), "employer_name": field(r, "employer_name") },
        "uan_details": [{ "uan": uan, "source": "EPFO", "source_score": 95,
            "basic_details": { "gender": "Male", "dob": field(r, "dob"), "employee_confidence_score": 90, "employee_name": name, "phone": field(r, "phone"), "aadhaar_verified": true },
            "employment_details": { "member_id": format!("MH/BAN/{}", seed % 1_000_000), "establishment_id": format!("MHBAN{}", seed % 100_000),
                "exit_date": "", "joining_date": joined, "leave_reason": "", "establishment_name": employer, "employer_confidence_score": 90 } }],
        "recent_employment_details": {
            "employee_details": { "member_id": format!("MH/BAN/{}", seed % 1_000_000), "exit_date": "", "joining_date": joined, "uan": uan,
                "epfo": { "recent": true, "name_unique": true, "pf_filings_details": true }, "employed": true, "employee_name_match": true, "exit_date_marked": false },
            "employer_details": { "establishment_id": format!("MHBAN{}", seed % 100_000), "establishment_name": employer, "setup_date": date(seed / 5, 2000, 10),
                "ownership_type": "Private", "employer_confidence_score": 90, "employer_name_match": true,
                "pf_filing_details": [{ "total_amount": 50_000 + seed % 100_000, "employees_count": 20 + seed % 500, "wage_month": "2026-10" }] } },
    }))
}

fn ip(address: &str) -> Answer {
    let private = match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => a.is_private() || a.is_loopback() || a.is_link_local(),
        Ok(std::net::IpAddr::V6(a)) => a.is_loopback() || (a.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    };
    let seed = hash(&["ip", address]);
    let (city, state, _, _, _, _) = city(seed);
    let proxy = if private {
        "Private network"
    } else {
        ["Residential", "Mobile network", "Data centre"][usize::try_from(seed % 3).unwrap_or(0)]
    };
    Answer::Found(json!({ "ip_address": address, "proxy_type": proxy, "country_code": if private { "" } else { "IN" },
        "country_name": if private { "" } else { "India" }, "region_name": if private { "" } else { state }, "city_name": if private { "" } else { city },
        "city_risk_score": "Low", "proxy_type_risk_score": if proxy == "Data centre" { "High" } else { "Low" } }))
}

fn reverse_geocoding(lat: &str, lon: &str) -> Answer {
    let (la, lo) = (lat.parse::<f64>().unwrap_or(0.0), lon.parse::<f64>().unwrap_or(0.0));
    let nearest = CITIES.iter().min_by(|a, b| {
        let d = |c: &(&str, &str, &str, f64, f64, &str)| (c.3 - la).powi(2) + (c.4 - lo).powi(2);
        d(a).total_cmp(&d(b))
    });
    let (city, state, code, clat, clon, pin) = nearest.copied().unwrap_or(CITIES[0]);
    let distance = ((clat - la).powi(2) + (clon - lo).powi(2)).sqrt();
    let score = if distance < 0.5 {
        98
    } else if distance < 3.0 {
        70
    } else {
        30
    };
    Answer::Found(json!({ "latitude": lat, "longitude": lon, "address": format!("MG Road, {city}, {state} {pin}"), "city": city,
        "state": state, "statecode": code, "countrycode": "IN", "pincode": pin, "score": score }))
}

fn name_match(a: &str, b: &str) -> Answer {
    let (score, reason) = names::score(a, b);
    Answer::Found(json!({ "name_1": a, "name_2": b, "score": score, "reason": reason, "match": names::matches(score) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kosh_core::verification::{validate, Leniency, KINDS};

    /// A valid request for every kind, as the README's examples give them.
    fn example(name: &str) -> Option<String> {
        let v = match name {
            "customer_id" | "mobile" | "phone" => "9876543210",
            "user_code" => "20810200",
            "client_ref_id" => "VERIFY-1",
            "id_type" => "ifsc",
            "id" | "ifsc" => "SBIN0001234",
            "acc_num" => "123456789012",
            "pan_number" | "pan" => "ABCPV1234K",
            "purpose" | "intent_id" => "1",
            "purpose_desc" => "onboarding",
            "name" | "employee_name" | "name_1" => "Asha Verma",
            "name_2" => "Asha Varma",
            "dob" => "1990-04-15",
            "entries" => r#"[{"pan":"ABCPV1234K","bank_account":"123456789012","ifsc":"SBIN0001234"}]"#,
            "is_consent" => "Y",
            "consent_text" | "aadhar" => "234567890124",
            "realsourceip" | "ip_address" => "203.0.113.7",
            "access_key" => "abcdef0123456789",
            "caseId" => "case-1",
            "otp" => "123456",
            "otp_ref_id" => "12",
            "image_1" | "image_2" => "/9j/4AAQSkZJRgABAQ==",
            "GSTIN" => "27AAPFU0939F1ZV",
            "business_name" => "Uber India",
            "document_requested" => r#"["AADHAAR"]"#,
            "redirect_url" => "https://partner.example/back",
            "vehicle_number" => "DL01AB1234",
            "dl_number" => "DL0420110012345",
            "epic_number" => "ABC1234567",
            "file_number" => "DL1061234567890",
            "cin" => "U12345DL1999PTC012345",
            "latitude" => "28.4595",
            "longitude" => "77.0266",
            _ => return None,
        };
        Some(v.to_owned())
    }

    #[tokio::test]
    async fn every_kind_answers() {
        let provider = SandboxVerifier { step_ms: 1000 };
        for kind in KINDS {
            let raw = |name: &str| {
                if name == "entries" && kind.id == "bank_account_bulk" {
                    Some(r#"[{"bank_account":"123456789012","ifsc":"SBIN0001234"}]"#.to_owned())
                } else {
                    example(name)
                }
            };
            let fields = validate(kind, &raw, Leniency { sandbox: true }).unwrap_or_else(|e| panic!("{}: {e:?}", kind.id));
            let answer = provider.verify(&VerifyRequest { kind: kind.id, tid: 1, fields, now_ms: 0 }).await;
            assert!(matches!(answer, Ok(Answer::Found(_) | Answer::Later(_))), "{}: {answer:?}", kind.id);
        }
    }

    #[test]
    fn a_request_never_shows_its_values() {
        let fields = [("pan_number".to_owned(), "ABCPV1234K".to_owned())].into_iter().collect();
        let shown = format!("{:?}", VerifyRequest { kind: "pan", tid: 7, fields, now_ms: 0 });
        assert!(shown.contains("pan_number") && !shown.contains("ABCPV1234K"), "{shown}");
    }

    #[test]
    fn magic_values() {
        assert!(matches!(pan_basic("ABCPV0000K"), Ok(Answer::Negative { .. })));
        assert!(pan_basic("ABCPV5555K").is_err());
        let Ok(Answer::Found(lite)) = pan_lite("ABCPV1111K", "Asha Verma", "1990-04-15") else { panic!("found") };
        assert_eq!(lite["name_match"], "N");
        assert_eq!(pan_holder("ABCPV1234K").1, "Verma", "the surname starts with the PAN's fifth letter");
        assert!(matches!(bank_account("123451111", "ifsc", "SBIN0001234"), Ok(Answer::Negative { .. })));
        assert!(bank_account("123455555", "ifsc", "SBIN0001234").is_err());
        let Answer::Found(g) = gstin_with_pan("AAPFU0939F") else { panic!("found") };
        let first = g["gstin_list"][0]["gstin"].as_str().unwrap();
        assert_eq!(ids::gstin(first).as_deref(), Ok(first), "the GSTINs of a PAN carry valid check characters");
        let Answer::Found(rc) = vehicle("DL01AB1234") else { panic!("found") };
        assert!(rc["reg_date"].as_str() < rc["rc_expiry_date"].as_str());
        assert!(aadhaar_mobile("999912345678").is_none());
    }
}
