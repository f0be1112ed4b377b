-- wrk script for bench/ingest.sh: POST /v1/batch with BENCH_EVENTS events per request,
-- each with a unique message_id (so de-duplication does real work) and one of 1000 user
-- ids (so the per-user aggregates are upserted). The key comes from BENCH_KEY.
local key = os.getenv("BENCH_KEY") or "sk_missing"
local per = tonumber(os.getenv("BENCH_EVENTS") or "1")
local counter = 0
local threads = 0
-- tid is a global: setup() sets it in each thread's own Lua state (a `local tid` here
-- would shadow it, and every thread would send the same message ids, half of them then
-- de-duplicated instead of stored)
tid = 0

function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end

function init(args)
	math.randomseed(os.time() + tid)
end

request = function()
	local ev = {}
	for i = 1, per do
		counter = counter + 1
		ev[i] = string.format(
			'{"type":"track","user_id":"u%d","name":"Bench event","message_id":"%d-%d-%d","properties":{"plan":"pro","n":%d}}',
			math.random(1, 1000), tid, os.time(), counter, counter)
	end
	local body = '{"key":"' .. key .. '","batch":[' .. table.concat(ev, ",") .. ']}'
	return wrk.format("POST", "/v1/batch", { ["Content-Type"] = "application/json" }, body)
end
