<?php
// The PHP snippet of docs/signed-identify.md, checked against its vectors ($argv[1]: JSON file).
function dropfix_sign(string $sk, string $userId, int $signedAt, string $email = '', string $plan = '', ?int $mrr = null, string $trialEnds = ''): string {
    $msg = implode("\n", ['v1', $userId, (string)$signedAt, $email, $plan, $mrr === null ? '' : (string)$mrr, $trialEnds]);
    return hash_hmac('sha256', $msg, $sk);
}
$vs = json_decode(file_get_contents($argv[1]), true);
$bad = 0;
foreach ($vs as $v) {
    if (dropfix_sign($v['secret'], $v['user_id'], $v['signed_at'], $v['email'], $v['plan'], $v['mrr'], $v['trial_ends']) !== $v['hash'])
        $bad++;
}
echo $bad === 0 ? "php ok " . count($vs) . "\n" : "php FAILED $bad\n";
exit($bad === 0 && count($vs) > 0 ? 0 : 1);
