"""Drives Kosh's v3 core (common inquiry, user management, AePS under v3) with the
vendor's Python SDK (eps-sdk, EpsClient) pointed at a local Kosh.

Run by tests/v3_sdk.rs: python3 v3_core.py CONFIG.json, with the SDK on PYTHONPATH.
Every check raises on failure (non-zero exit, with the answer that failed); the last
line printed is a JSON summary the Rust test compares with the store.
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal

from eps_sdk import EpsClient, EpsHttpError

CONFIG = json.load(open(sys.argv[1]))
ROOT = CONFIG["base"]
client = EpsClient(
    developer_key=CONFIG["developer_key"],
    access_key=CONFIG["access_key"],
    environment="sandbox",
    initiator_id=CONFIG["initiator_id"],
    retries=0,
)
client.base_url = ROOT + "/ekoapi/v3"
served = []


def call(slug, params=None):
    served.append(slug)
    try:
        return client.call(slug, params or {})
    except EpsHttpError as e:
        e.args = (f"{e.args[0]} {e.body}",)
        raise


def raw(method, path, body=None, query=None, prefix="/ekoapi/v3", content_type="application/json", data=None):
    """A signed request the SDK has no slug for (the docs' path forms)."""
    url = ROOT + prefix + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    headers = client.build_headers()
    headers["content-type"] = content_type
    if body is not None:
        data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def check(answer, status, response_type_id, keys=(), what=""):
    assert answer["status"] == status, f"{what}: status {answer['status']} != {status}: {answer}"
    assert answer["response_type_id"] == response_type_id, f"{what}: rt {answer['response_type_id']} != {response_type_id}: {answer}"
    missing = [k for k in keys if k not in answer["data"]]
    assert not missing, f"{what}: data lacks {missing}: {answer}"
    return answer["data"]


def invalid(answer, names, what=""):
    assert answer["status"] in (1, 97) and answer["response_status_id"] == 1, f"{what}: {answer}"
    got = sorted((answer.get("invalid_params") or {}).keys())
    assert got == sorted(names), f"{what}: invalid_params {got} != {sorted(names)}: {answer}"


def paise(rupees):
    return int((Decimal(str(rupees)) * 100).to_integral_value())


def wallet():
    data = check(
        call("get-wallet-balance", {"customer_id": CONFIG["initiator_id"], "customer_id_type": "mobile_number"}),
        0, 1, ("balance", "currency", "customer_id", "last_used_okekey"), "wallet balance",
    )
    return paise(data["balance"])


ADDRESS = {"line": "12 MG Road", "city": "Gurgaon", "state": "Haryana", "pincode": "122002"}


def agent(pan, mobile):
    return {"mobile": mobile, "first_name": "Meera", "last_name": "Iyer", "pan_number": pan,
            "email": "meera@example.com", "residence_address": ADDRESS, "dob": "1988-02-03", "shop_name": "Meera Store"}


# --- User management -------------------------------------------------------------
catalogue = check(call("get-all-services"), 0, 1280, ("service_list",), "service codes")
assert "43" in [s["service_code"] for s in catalogue["service_list"]], catalogue

onboarded = check(call("onboard-user", agent(CONFIG["agent_pan"], CONFIG["agent_mobile"])), 0, 1290, ("user_code", "initiator_id"), "onboard")
user_code = onboarded["user_code"]
again = check(call("onboard-user", agent(CONFIG["agent_pan"], CONFIG["agent_mobile"])), 0, 1307, ("user_code",), "onboard again")
assert again["user_code"] == user_code, again
status, docs_form = raw("PUT", "/user/account", dict(agent(CONFIG["second_pan"], CONFIG["second_mobile"]), initiator_id=CONFIG["initiator_id"]))
assert status == 200, docs_form
check(docs_form, 0, 1290, ("user_code",), "onboard, docs' PUT /user/account")
bad = dict(agent("ABCPZ9999Z", "9876500999"), email="not-an-email")
invalid(call("onboard-user", bad), ["email"], "onboard with a bad email")

enquiry = check(call("get-user-services", {"user_code": user_code}), 0, 1299, ("user_code", "initiator_id", "service_status_list"), "services")

# AePS before the service is active: "Agent not allowed", nothing moves.
before = wallet()
tx = {"user_code": user_code, "customer_id": CONFIG["customer"], "bank_code": "PUNB", "aadhar": CONFIG["customer_aadhaar"],
      "latlong": "28.4595,77.0266", "piddata": CONFIG["pid_tx"]}
refused = call("aeps-fingpay-cash-withdrawal", dict(tx, amount=2500))
assert (refused["status"], refused["message"]) == (346, "Agent not allowed"), refused
assert wallet() == before

activated = check(call("activate-user-service", {"user_code": user_code, "service_code": "43"}), 0, 1294, ("service_code", "status"), "activate 43")
assert activated["status"] == 1, activated
jpeg = ("doc.jpg", b"\xff\xd8\xff\xe0" + b"0" * 64)
png = ("doc.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)
fingpay = {"user_code": user_code, "modelname": "MFS100", "devicenumber": "1234567", "account": "123456789012",
           "ifsc": "SBIN0001234", "shop_type": "5411", "office_address": ADDRESS, "address_as_per_proof": ADDRESS,
           "aadhar": CONFIG["agent_aadhaar"], "latlong": "28.4595,77.0266"}
check(call("activate-aeps-fingpay", dict(fingpay, pan_card=jpeg, aadhar_front=jpeg, aadhar_back=jpeg)), 0, 1294, ("status",), "multipart activation")
invalid(call("activate-aeps-fingpay", dict(fingpay, pan_card=png, aadhar_front=jpeg, aadhar_back=jpeg)), ["pan_card"], "PNG document")
status, colon = raw("PUT", f"/admin/network/agent/user_code:{user_code}/service/45/activate", {"initiator_id": CONFIG["initiator_id"]})
check(colon, 0, 1294, ("status",), "activate 45, colon path id")
off = check(call("deactivate-user-service", {"user_code": user_code, "service_code": "45"}), 0, 1298, ("status",), "deactivate 45")
assert off["status"] == 0, off
standing = {s["service_code"]: s["status"] for s in check(call("get-user-services", {"user_code": user_code}), 0, 1299, ())["service_status_list"]}
assert (standing["43"], standing["45"]) == (1, 0), standing

status, docs_balance = raw("GET", "/user/account/balance", query={"initiator_id": CONFIG["initiator_id"], "customer_id_type": "mobile_number", "customer_id": CONFIG["initiator_id"]})
assert paise(check(docs_balance, 0, 1, ("balance",), "docs' balance form")["balance"]) == wallet()

# --- AePS under v3 -------------------------------------------------------------------
ekyc = {"user_code": user_code, "aadhar": CONFIG["agent_aadhaar"], "customer_id": CONFIG["agent_mobile"], "latlong": "28.4595,77.0266"}
sent = check(call("aeps-fingpay-send-otp-kyc", ekyc), 0, 1600, ("otp_ref_id", "reference_tid"), "e-KYC OTP")
status, otp = raw("GET", "/sandbox/otp", query={"mobile": CONFIG["agent_mobile"], "purpose": "aeps_ekyc"}, prefix="")
verified = check(call("aeps-fingpay-verify-otp-kyc", dict(ekyc, otp=otp["data"]["otp"], otp_ref_id=sent["otp_ref_id"], reference_tid=sent["reference_tid"])),
                 0, 1604, ("reference_tid", "otp_ref_id"), "e-KYC OTP verify")
assert (verified["reference_tid"], verified["otp_ref_id"]) == (sent["reference_tid"], sent["otp_ref_id"]), verified
bio = dict(ekyc, piddata=CONFIG["pid_ekyc"], bank_code="SBIN")
check(call("aeps-fingpay-biometric-ekyc", dict(bio, otp_ref_id=sent["otp_ref_id"], reference_tid=sent["reference_tid"])), 0, 1605, (), "e-KYC biometric")
check(call("aeps-fingpay-daily-auth", bio), 0, 1713, (), "daily authentication")

before = wallet()
invalid(call("aeps-fingpay-cash-withdrawal", dict(tx, amount=10001)), ["amount"], "over the ₹10,000 limit")
assert wallet() == before
cw = check(call("aeps-fingpay-cash-withdrawal", dict(tx, amount=2500, client_ref_id="V3CW1")), 0, 1463,
           ("tx_status", "tid", "amount", "commission", "tds", "balance", "bank_ref_num", "customer_balance", "aadhar"), "cash withdrawal")
assert cw["tx_status"] == "0", cw
after = wallet()
assert after - before == paise(cw["amount"]) + paise(cw["commission"]) - paise(cw["tds"]), (before, after, cw)
assert paise(cw["balance"]) == after, (cw, after)
replayed = check(call("aeps-fingpay-cash-withdrawal", dict(tx, amount=2500, client_ref_id="V3CW1")), 0, 1463, ("tid",), "same client_ref_id")
assert replayed["tid"] == cw["tid"] and wallet() == after, replayed
be = check(call("aeps-fingpay-balance-enquiry", tx), 0, 1466, ("tx_status", "tid", "customer_balance"), "balance enquiry")
ms = check(call("aeps-fingpay-mini-statement", tx), 0, 1527, ("tx_status", "mini_statement_list"), "mini statement")
assert ms["mini_statement_list"], ms
earned = sum(paise(d["commission"]) - paise(d["tds"]) for d in (be, ms))
assert wallet() == after + earned, "enquiries move only their commission (less TDS)"
after = wallet()

# The withdrawal OTP step: an OTP to the customer, for this agent and amount.
sent = check(call("aeps-fingpay-cash-withdrawal-otp", dict(tx, amount=1200)), 0, 2133, ("txn_otp_request_id", "otp_ref_id"), "CW OTP")
status, otp = raw("GET", "/sandbox/otp", query={"mobile": CONFIG["customer"], "purpose": f"aeps_cw:{user_code}:120000"}, prefix="")
with_otp = dict(tx, amount=1200, client_ref_id="V3CW2", txn_otp_request_id=sent["txn_otp_request_id"])
wrong = call("aeps-fingpay-cash-withdrawal", dict(with_otp, otp="000000" if otp["data"]["otp"] != "000000" else "111111"))
assert (wrong["status"], wrong["message"]) == (302, "Wrong OTP"), wrong
assert wallet() == after, "a wrong OTP moves nothing"
other_amount = call("aeps-fingpay-cash-withdrawal", dict(with_otp, amount=1300, otp=otp["data"]["otp"]))
assert other_amount["status"] != 0, ("the OTP is bound to its amount", other_amount)
cw2 = check(call("aeps-fingpay-cash-withdrawal", dict(with_otp, otp=otp["data"]["otp"])), 0, 1463, ("tid", "commission", "tds"), "CW with its OTP")
assert wallet() == after + 120000 + paise(cw2["commission"]) - paise(cw2["tds"]), cw2
after = wallet()
used = call("aeps-fingpay-cash-withdrawal", dict(with_otp, client_ref_id="V3CW3", otp=otp["data"]["otp"]))
assert used["status"] != 0 and wallet() == after, ("an OTP works once", used)

# --- The common inquiry ----------------------------------------------------------------
def inquiry(what, expected_tid, **query):
    data = check(call("transaction-inquiry", query), 0, 1472, ("tx_status", "tid"), what)
    assert str(data["tid"]) == str(expected_tid), (what, data)
    return data

assert inquiry("AePS by tid", cw["tid"], tid=cw["tid"])["tx_status"] == "0"
assert inquiry("AePS by client_ref_id", cw["tid"], client_ref_id="V3CW1")["client_ref_id"] == "V3CW1"
for path in (f"/tools/reference/transaction/{cw['tid']}", "/tools/reference/transaction/client_ref_id:V3CW1", "/tools/reference/transaction/V3CW1"):
    status, found = raw("GET", path, query={"initiator_id": CONFIG["initiator_id"]})
    assert str(check(found, 0, 1472, ("tx_status",), path)["tid"]) == cw["tid"], found
v1 = CONFIG["v1_transfer"]
dmt = inquiry("a v1 DMT transfer", v1["tid"], client_ref_id=v1["client_ref_id"])
assert dmt["tx_status"] == "0" and "bank_ref_num" in dmt, dmt
inquiry("a v1 DMT transfer by tid", v1["tid"], tid=v1["tid"])
token = CONFIG["token_payment"]
assert inquiry("a Token payment", token["tid"], client_ref_id=token["client_ref_id"])["token"] == token["token"]
inquiry("a Token payment by tid", token["tid"], tid=token["tid"])
missing = call("transaction-inquiry", {"client_ref_id": "NO-SUCH-REF"})
assert (missing["status"], missing["message"]) == (168, "TID does not exist"), missing

# --- What Kosh does not serve answers the platform's words, naming the nearest path ----
status, typo = raw("POST", f"/customer/collection/aeps-fingpay/cash-withdrawal/{CONFIG['customer']}", dict(tx, amount=100))
assert status == 404 and "aeps-fingpay/cash-withdrawl/{customer_id}" in typo["hint"], typo

print(json.dumps({"wallet_paise": wallet(), "user_code": user_code, "cw_tid": cw["tid"], "be_tid": be["tid"], "slugs": sorted(set(served))}))
