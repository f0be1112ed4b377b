# The Ruby snippet of docs/signed-identify.md, checked against its vectors (ARGV[0]: JSON file).
require "json"
require "openssl"
def dropfix_sign(sk, user_id, signed_at, email: "", plan: "", mrr: nil, trial_ends: "")
  msg = ["v1", user_id, signed_at.to_s, email, plan, mrr.nil? ? "" : mrr.to_s, trial_ends].join("\n")
  OpenSSL::HMAC.hexdigest("SHA256", sk, msg)
end
vs = JSON.parse(File.read(ARGV[0], encoding: "UTF-8"))
bad = vs.count do |v|
  dropfix_sign(v["secret"], v["user_id"], v["signed_at"], email: v["email"], plan: v["plan"],
               mrr: v["mrr"], trial_ends: v["trial_ends"]) != v["hash"]
end
puts(bad.zero? ? "ruby ok #{vs.size}" : "ruby FAILED #{bad}")
exit(bad.zero? && !vs.empty? ? 0 : 1)
