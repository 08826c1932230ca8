-- Each thread enrolls with its share of the join tokens in args[1] (one a line): POST /v1/join,
-- then POST /v1/join/ack with the ack token of the answer, on whichever connection asks next.
-- args[2]: the number of threads.
local threads = {}
local counter = 0

function setup(thread)
	thread:set("tid", counter)
	counter = counter + 1
	table.insert(threads, thread)
end

function init(args)
	local nthreads, i = tonumber(args[2]), 0
	tokens, acks = {}, {}
	for line in io.lines(args[1]) do
		if i % nthreads == tid then
			tokens[#tokens + 1] = line
		end
		i = i + 1
	end
	next_token, joined, acked, errors, ran_out = 1, 0, 0, 0, 0
	hdrs = {["Content-Type"] = "application/json"}
	filler = wrk.format("GET", "/v1/health?live")
end

function request()
	local ack = table.remove(acks)
	if ack then
		return wrk.format("POST", "/v1/join/ack", hdrs, '{"ack_token":"' .. ack .. '"}')
	end
	local t = tokens[next_token]
	if not t then
		ran_out = 1
		return filler
	end
	next_token = next_token + 1
	return wrk.format("POST", "/v1/join", hdrs, '{"token":"' .. t .. '","name":"bench"}')
end

function response(status, headers, body)
	if status == 201 then
		local ack = body:match('"ack_token":"([^"]+)"')
		if ack then
			acks[#acks + 1] = ack
			joined = joined + 1
		else
			errors = errors + 1
		end
	elseif status == 204 then
		acked = acked + 1
	elseif status ~= 200 then
		errors = errors + 1
		if errors <= 3 then
			io.stderr:write("status " .. status .. ": " .. body:sub(1, 200) .. "\n")
		end
	end
end

function done(summary, latency, requests)
	local j, a, e, r = 0, 0, 0, 0
	for _, t in ipairs(threads) do
		j = j + t:get("joined")
		a = a + t:get("acked")
		e = e + t:get("errors")
		r = r + t:get("ran_out")
	end
	io.write(string.format("ENROLL joined=%d acked=%d errors=%d ran_out=%d seconds=%.3f p50=%.2f p99=%.2f\n",
		j, a, e, r, summary.duration / 1e6, latency:percentile(50) / 1000,
		latency:percentile(99) / 1000))
end
