"""Drives Kosh's v3 money transfer with the vendor's Python SDK (eps-sdk, EpsClient).

Usage: v3_dmt.py BASE_URL PHASE [ARGS...]
  fino MOBILE AADHAAR PID
                    DMT-Fino: onboard, e-KYC, recipients, transaction OTP, a settled
                    transfer, a declined one and one that will fail late; prints its tid
  levin MOBILE AADHAAR PID
                    DMT-Levin: onboard, Aadhaar OTP, biometric e-KYC, a settled transfer
  refund MOBILE TID the refund of a transfer in refund pending, and the bank lookups
Every check is an assert: a failure exits non-zero with the answer that broke it.
The last line printed is a JSON object for the Rust test.
"""

import json
import sys
import urllib.parse
import urllib.request

from eps_sdk import EpsClient

SANDBOX_DEVELOPER_KEY = "becbbce45f79c6f5109f848acd540567"
SANDBOX_ACCESS_KEY = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"
INITIATOR_ID = "9962981729"
AGENT = "20810200"


def client(root):
    c = EpsClient(
        developer_key=SANDBOX_DEVELOPER_KEY,
        access_key=SANDBOX_ACCESS_KEY,
        environment="sandbox",
        initiator_id=INITIATOR_ID,
        user_code=AGENT,
    )
    c.base_url = root + "/ekoapi/v3"
    return c


def sandbox_otp(c, root, mobile, purpose):
    """Kosh's sandbox OTP reader (no OTP is delivered in sandbox mode)."""
    query = urllib.parse.urlencode({"initiator_id": INITIATOR_ID, "mobile": mobile, "purpose": purpose})
    request = urllib.request.Request(f"{root}/sandbox/otp?{query}", headers=c.build_headers())
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert body["data"]["otp"], body
    return body["data"]["otp"]


def expect(answer, response_type_id, status=0):
    assert answer["response_type_id"] == response_type_id and answer["status"] == status, json.dumps(answer)
    return answer


def transfer(c, root, slug, mobile, recipient_id, amount, ref, extra=None):
    otp_slug = "dmt-send-otp" if slug == "dmt-fino" else "dmt-levin-send-otp"
    asked = expect(c.call(otp_slug, {"customer_id": mobile, "recipient_id": recipient_id, "amount": amount}), 2133)
    code = sandbox_otp(c, root, mobile, "dmt_txn:%s:%d" % (slug, round(float(amount) * 100)))
    params = {"customer_id": mobile, "recipient_id": recipient_id, "amount": amount, "otp": code,
              "otp_ref_id": asked["data"]["otp_ref_id"], "client_ref_id": ref}
    params.update(extra or {})
    pay_slug = "dmt-initiate-transfer" if slug == "dmt-fino" else "dmt-levin-initiate-transfer"
    return c.call(pay_slug, params)


def fino(root, mobile, aadhaar, pid_xml):
    c = client(root)
    address = json.dumps({"line": "12 MG Road", "city": "Gurgaon", "state": "Haryana", "pincode": "122002"})
    expect(c.call("dmt-onboard-sender", {"customer_id": mobile, "name": "Asha Verma", "dob": "1990-04-15",
                                          "residence_address": address}), 300)
    pending = c.call("dmt-get-sender", {"customer_id": mobile})
    assert pending["response_type_id"] == 2134, pending
    ekyc = expect(c.call("dmt-fino-sender-ekyc", {"customer_id": mobile, "aadhar": aadhaar, "piddata": pid_xml}), 2129)
    code = sandbox_otp(c, root, mobile, "dmt_kyc:dmt-fino:ekyc_otp")
    expect(c.call("dmt-fino-validate-ekyc-otp", {"customer_id": mobile, "otp": code, "otp_ref_id": ekyc["data"]["otp_ref_id"],
                                                 "kyc_request_id": ekyc["data"]["kyc_request_id"]}), 2132)
    profile = expect(c.call("dmt-get-sender", {"customer_id": mobile}), 309)
    assert profile["data"]["available_limit"] == 25000.0, profile
    rid = {}
    for name, account in [("ok", "123456789012"), ("decline", "123456781111"), ("late", "123456784444")]:
        added = expect(c.call("dmt-add-recipient", {"customer_id": mobile, "recipient_mobile": "9876543210",
                                                    "recipient_name": "Ravi Kumar", "ifsc": "SBIN0001234", "account": account}), 43)
        rid[name] = added["data"]["recipient_id"]
    listed = expect(c.call("dmt-get-recipients", {"customer_id": mobile}), 23)
    assert len(listed["data"]["recipient_list"]) == 3, listed
    sent = expect(transfer(c, root, "dmt-fino", mobile, rid["ok"], 1500, "SDKFINO1"), 325)
    assert sent["data"]["tx_status"] == "0" and sent["response_status_id"] == 0, sent
    for key in ("tid", "client_ref_id", "amount", "fee", "collectable_amount", "balance", "bank_ref_num", "recipient_id",
                "customer_id", "channel_desc", "pipe", "utility_acc_no", "debit_user_id", "service_tax", "commission", "tds"):
        assert key in sent["data"], (key, sent)
    declined = transfer(c, root, "dmt-fino", mobile, rid["decline"], 200, "SDKFINO2")
    assert declined["status"] == 55 and declined["data"]["tx_status"] == "1", declined
    late = expect(transfer(c, root, "dmt-fino", mobile, rid["late"], 1000, "SDKFINO3"), 325)
    assert late["data"]["tx_status"] == "2", late
    return {"ok_tid": sent["data"]["tid"], "late_tid": late["data"]["tid"], "balance": sent["data"]["balance"]}


def levin(root, mobile, aadhaar, pid_xml):
    c = client(root)
    address = {"line": "12 MG Road", "city": "Gurgaon", "state": "Haryana", "pincode": "122002"}
    expect(c.call("dmt-levin-onboard-sender", {"customer_id": mobile, "name": "Asha Verma", "dob": "1990-04-15",
                                                "residence_address": address}), 300)
    pending = c.call("dmt-levin-get-sender", {"customer_id": mobile})
    assert pending["response_type_id"] == 2136, pending
    sent = expect(c.call("aadhaar-dmt-levin-validate", {"customer_id": mobile, "aadhar": aadhaar, "otp_ref_id": "0",
                                                        "additional_info": "1"}), 2129)
    code = sandbox_otp(c, root, mobile, "dmt_kyc:dmt-levin:aadhaar_otp")
    expect(c.call("aadhaar-dmt-levin-verify-otp", {"customer_id": mobile, "otp": code, "otp_ref_id": sent["data"]["otp_ref_id"],
                                                   "intent_id": "20", "additional_info": "1"}), 2134)
    expect(c.call("dmt-levin-sender-ekyc", {"customer_id": mobile, "otp_ref_id": sent["data"]["otp_ref_id"], "piddata": pid_xml}), 2132)
    expect(c.call("dmt-levin-get-sender", {"customer_id": mobile}), 309)
    added = expect(c.call("dmt-levin-add-recipient", {"customer_id": mobile, "bank_id": 108, "recipient_name": "Ravi Kumar",
                                                      "recipient_mobile": "9876543210", "recipient_type": 3, "account": "223456789012",
                                                      "ifsc": "SBIN0001234", "account_type": 1, "type": "1"}), 43)
    rid = added["data"]["recipient_id"]
    expect(c.call("dmt-levin-get-recipients", {"customer_id": mobile, "additional_info": 1}), 23)
    extra = {"timestamp": "2026-12-04T10:00:00.000Z", "currency": "INR", "channel": 2, "state": "1", "recipient_id_type": 1,
             "latlong": "28.4595,77.0266"}
    paid = expect(transfer(c, root, "dmt-levin", mobile, rid, 2000, "SDKLEVIN1", extra), 325)
    assert paid["data"]["tx_status"] == "0" and paid["data"]["pipe"] == 13, paid
    return {"tid": paid["data"]["tid"]}


def refund(root, mobile, tid):
    c = client(root)
    sent = expect(c.call("get-refund-otp", {"tid": tid}), 2133)
    code = sandbox_otp(c, root, mobile, "dmt_refund:%s" % tid)
    done = expect(c.call("initiate-refund", {"tid": tid, "otp": code, "otp_ref_id": sent["data"]["otp_ref_id"], "state": 1,
                                             "service_code": 80}), 74)
    assert done["data"]["refund_tid"] and done["data"]["tx_status"] == "4", done
    banks = expect(c.call("get-banks", {}), 466)
    assert banks["data"]["bank_list"], banks
    bank = expect(c.call("get-bank-details", {"bank_code": "SBIN"}), 466)
    assert bank["data"]["name"] == "State Bank of India", bank
    ifsc = expect(c.call("get-ifsc-details", {"ifsc": "SBIN0001234"}), 414)
    assert ifsc["data"]["branch"] == "001234", ifsc
    return {"refund_tid": done["data"]["refund_tid"]}


def main():
    root, phase = sys.argv[1], sys.argv[2]
    if phase == "fino":
        out = fino(root, sys.argv[3], sys.argv[4], sys.argv[5])
    elif phase == "levin":
        out = levin(root, sys.argv[3], sys.argv[4], sys.argv[5])
    elif phase == "refund":
        out = refund(root, sys.argv[3], sys.argv[4])
    else:
        raise SystemExit("unknown phase " + phase)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
