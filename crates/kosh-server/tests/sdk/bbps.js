// The vendor's Node SDK (@ekoindia/eko-sdk-node, unchanged) against a Kosh sandbox:
// its bill-payment functions get the documented shapes. Run by tests/eko_bbps_sdk.rs
// with KOSH_HOST, KOSH_PORT and KOSH_MODE ("enforce": Kosh checks request_hash, which
// the SDK computes with the developer_key, and says so; "warn": the payment goes
// through). Exits non-zero (with the reason on stderr) when a shape is wrong.
// payBill as published sends no credentials (see below): its intended request is built
// from the SDK's own auth and network functions.
const assert = require('assert');

const config = {
    hostname: process.env.KOSH_HOST,
    port: Number(process.env.KOSH_PORT),
    allowInsecureRequest: true,
    // The SDK's defaults (index.js): the public sandbox credentials.
    developerKey: 'becbbce45f79c6f5109f848acd540567',
    authKey: 'd2fe1d99-6298-4af2-8cc5-d97dcf46df30',
    initiatorId: '9962981729',
};
const Eko = require('@ekoindia/eko-sdk-node').init(config);
const auth = require('@ekoindia/eko-sdk-node/auth');
const network = require('@ekoindia/eko-sdk-node/network');

function call(fn, options) {
    return new Promise((resolve) => fn(options, (err, data) => resolve({ err, data })));
}

function hasKeys(object, keys, what) {
    for (const key of keys) {
        assert.ok(Object.prototype.hasOwnProperty.call(object, key), `${what} lacks ${key}: ${JSON.stringify(object)}`);
    }
}

// The SDK's own test values (test/billpayments.test.js), on an operator that fetches.
const bill = {
    initiatorId: 9962981729,
    operator_id: '51',
    user_code: '20810200',
    client_ref_id: '202105311125123456',
    utility_acc_no: '151627591',
    confirmation_mobile_no: '9999999999',
    sender_name: 'Kaushik',
    source_ip: '121.121.1.1',
    latlong: '77.06794760,77.06794760',
    hc_channel: 1,
};

async function main() {
    const categories = await call(Eko.billPayments.getOperatorCategories, {});
    assert.ifError(categories.err);
    assert.ok(Array.isArray(categories.data) && categories.data.length > 0, 'categories');
    categories.data.forEach((c) => hasKeys(c, ['operator_category_name', 'operator_category_id', 'operator_category_group', 'status'], 'category'));

    const locations = await call(Eko.billPayments.getOperatorLocations, {});
    assert.ifError(locations.err);
    assert.ok(Array.isArray(locations.data) && locations.data.length > 0, 'locations');
    locations.data.forEach((l) => hasKeys(l, ['operator_location_name', 'operator_location_id', 'abbreviation'], 'location'));

    const operators = await call(Eko.billPayments.getOperators, { category: 2, location: 24 });
    assert.ifError(operators.err);
    assert.ok(operators.data.some((o) => o.operator_id === 51), `Adani Gas among ${JSON.stringify(operators.data)}`);
    operators.data.forEach((o) => {
        hasKeys(o, ['operator_id', 'name', 'billFetchResponse', 'high_commission_channel', 'kyc_required', 'operator_category', 'location_id'], 'operator');
        assert.strictEqual(o.operator_category, 2);
        assert.strictEqual(o.location_id, 24);
    });
    const all = await call(Eko.billPayments.getOperators, {});
    assert.ok(all.data.length > operators.data.length, 'no filter lists every operator');

    const parameters = await call(Eko.billPayments.getOperatorParameters, { operator: 51 });
    assert.ifError(parameters.err);
    assert.ok(Array.isArray(parameters.data) && parameters.data.length > 0, 'parameters');
    parameters.data.forEach((p) => hasKeys(p, ['error_message', 'param_label', 'regex', 'param_name', 'param_id', 'param_type'], 'parameter'));
    assert.strictEqual(parameters.data[0].param_name, 'utility_acc_no');
    assert.ok(new RegExp(parameters.data[0].regex).test(bill.utility_acc_no), 'the SDK sample account passes the regex');

    const fetched = await call(Eko.billPayments.getBill, bill);
    assert.ifError(fetched.err);
    hasKeys(fetched.data, ['amount', 'bbpstrxnrefid', 'ifsc_status', 'utilitycustomername', 'postalcode', 'billfetchresponse', 'geocode', 'billdate', 'customer_id'], 'bill');
    assert.strictEqual(fetched.data.customer_id, bill.utility_acc_no);

    // payBill as published: setting its request_hash header replaces every other header
    // (network.js assigns reqOptions.headers over the defaults), so the request arrives
    // with no credentials at all; Kosh says what happened.
    const payment = Object.assign({}, bill, { amount: fetched.data.amount });
    const unsigned = await call(Eko.billPayments.payBill, payment);
    assert.ok(unsigned.err, `payBill without credentials is refused: ${JSON.stringify(unsigned)}`);
    assert.strictEqual(unsigned.err.statusCode, 402);
    assert.ok(unsigned.err.statusMessage.includes('replaced its authentication headers with the request_hash'), unsigned.err.statusMessage);

    // What payBill means to send, built with the SDK's own functions: its default
    // headers, and its request_hash, which it computes with the developer_key.
    const paid = await new Promise((resolve) => {
        const keys = auth.getAuthKeys(config.authKey);
        const headers = {
            developer_key: config.developerKey,
            'secret-key': keys.secretKey,
            'secret-key-timestamp': keys.secretKeyTimestamp,
            'Content-Type': 'application/json',
            request_hash: auth.getRequestHash(config.developerKey, keys.secretKeyTimestamp, payment.utility_acc_no + payment.amount + payment.user_code),
        };
        const data = Object.assign({}, payment);
        delete data.initiatorId;
        network.send(config, { path: '/ekoapi/v2/billpayments/paybill?initiator_id=' + config.initiatorId, method: 'POST', headers }, data,
            (err, result) => resolve({ err, data: result ? result.data : null }));
    });
    if (process.env.KOSH_MODE === 'enforce') {
        assert.ok(paid.err, `the developer_key hash is refused: ${JSON.stringify(paid)}`);
        assert.strictEqual(paid.err.statusCode, 403);
        assert.ok(paid.err.statusMessage.includes('computed with the developer_key'), `the refusal names the mistake: ${paid.err.statusMessage}`);
    } else {
        assert.ifError(paid.err);
        hasKeys(paid.data, ['tx_status', 'tds', 'bbpstrxnrefid', 'txstatus_desc', 'utilitycustomername', 'fee', 'discount', 'tid', 'sender_id', 'balance', 'customerconveniencefee', 'commission', 'state', 'recipient_id', 'timestamp', 'amount', 'mobile', 'reference_tid', 'serial_number', 'customermobilenumber', 'payment_mode_desc', 'last_used_okekey', 'operator_name', 'totalamount', 'billnumber', 'billdate', 'status_text', 'account'], 'payment receipt');
        assert.strictEqual(paid.data.tx_status, '2', 'hc_channel 1: the offline channel, awaited');
        assert.strictEqual(paid.data.account, bill.utility_acc_no);
        assert.strictEqual(paid.data.operator_name, 'Adani Gas');
    }
}

main().then(() => process.exit(0), (e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
});
