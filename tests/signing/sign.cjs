// The Node snippet of docs/signed-identify.md, checked against its vectors (argv[2]: JSON file).
const fs = require('node:fs');
const crypto = require('node:crypto');
function dropfixSign(sk, userId, signedAt, { email = '', plan = '', mrr = '', trialEnds = '' } = {}) {
  const msg = ['v1', userId, signedAt, email, plan, mrr === null ? '' : mrr, trialEnds].join('\n');
  return crypto.createHmac('sha256', sk).update(msg, 'utf8').digest('hex');
}
const vs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const bad = vs.filter((v) => dropfixSign(v.secret, v.user_id, v.signed_at, { email: v.email, plan: v.plan, mrr: v.mrr, trialEnds: v.trial_ends }) !== v.hash).length;
console.log(bad === 0 ? `node ok ${vs.length}` : `node FAILED ${bad}`);
process.exit(bad === 0 && vs.length > 0 ? 0 : 1);
