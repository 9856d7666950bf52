// Drives the vendor's published Node SDK (@ekoindia/eko-sdk-node), unchanged, against
// a Kosh server on 127.0.0.1:$KOSH_PORT: verifyPAN and verifyBankAccount with the
// options of the SDK's own tests, checking the keys those tests check. Exit 0 on success.
const assert = require('assert');
const Eko = require('@ekoindia/eko-sdk-node');

const port = Number(process.env.KOSH_PORT);
const eko = Eko.init({ hostname: '127.0.0.1', port, allowInsecureRequest: true });
// The SDK logs every request at debug level; keep the output to what this script says.
console.debug = () => {};

function call(fn, options) {
  return new Promise((resolve, reject) => fn(options, (err, data) => (err ? reject(new Error(JSON.stringify(err))) : resolve(data))));
}

async function main() {
  const pan = await call(eko.verifyPAN, { panNumber: 'VBLPZ6447L', purpose: 1, purposeDescription: 'onboarding' });
  assert.ok(pan && typeof pan === 'object', 'verifyPAN answered no data');
  for (const key of ['pan_number', 'title', 'first_name', 'middle_name', 'last_name']) {
    assert.ok(key in pan, `verifyPAN data lacks ${key}: ${JSON.stringify(pan)}`);
  }
  const account = await call(eko.verifyBankAccount, {
    accountNo: '1711654121', ifsc: 'KKBK0000261', userCode: '20810200', customerId: '6111111111', initiatorId: '9962981729',
  });
  assert.ok(account && typeof account === 'object', 'verifyBankAccount answered no data');
  for (const key of ['amount', 'fee', 'verification_failure_refund', 'is_Ifsc_required', 'tid', 'client_ref_id', 'bank',
    'is_name_editable', 'user_code', 'aadhar', 'recipient_name', 'account']) {
    assert.ok(key in account, `verifyBankAccount data lacks ${key}: ${JSON.stringify(account)}`);
  }
  console.log(JSON.stringify({ pan, account }));
}

main().then(() => process.exit(0), (e) => { console.error(e.stack || String(e)); process.exit(1); });
