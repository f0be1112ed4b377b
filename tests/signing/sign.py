# The Python snippet of docs/signed-identify.md, checked against its vectors (argv[1]: JSON file).
import json, sys
import hashlib, hmac
def dropfix_sign(sk, user_id, signed_at, email="", plan="", mrr=None, trial_ends=""):
    msg = "\n".join(["v1", user_id, str(signed_at), email, plan, "" if mrr is None else str(mrr), trial_ends])
    return hmac.new(sk.encode(), msg.encode(), hashlib.sha256).hexdigest()
bad = 0
vs = json.load(open(sys.argv[1], encoding="utf-8"))
for v in vs:
    got = dropfix_sign(v["secret"], v["user_id"], v["signed_at"], v["email"], v["plan"], v["mrr"], v["trial_ends"])
    bad += got != v["hash"]
print("python ok %d" % len(vs) if not bad else "python FAILED %d" % bad)
sys.exit(1 if bad or not vs else 0)
