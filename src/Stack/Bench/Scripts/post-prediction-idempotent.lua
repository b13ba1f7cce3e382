-- wrk script: POST /api/predictions as post-prediction.lua does, each request with a key of its own in Idempotency-Key,
-- so every request claims a key, runs and stores its answer (the cost of the header; a replay would be cheaper).
-- Keys start with the thread's number and the start time: rounds of one benchmark never reuse one.
local bodies = {
  '{"billLengthMm":39.1,"billDepthMm":18.7,"flipperLengthMm":181,"bodyMassG":3750}',
  '{"billLengthMm":46.5,"billDepthMm":17.9,"flipperLengthMm":192,"bodyMassG":3500}',
  '{"billLengthMm":46.1,"billDepthMm":13.2,"flipperLengthMm":211,"bodyMassG":4500}',
  '{"billLengthMm":38.9,"billDepthMm":17.8,"flipperLengthMm":181,"bodyMassG":3625}',
  '{"billLengthMm":50.0,"billDepthMm":19.5,"flipperLengthMm":196,"bodyMassG":3900}',
  '{"billLengthMm":48.7,"billDepthMm":14.1,"flipperLengthMm":210,"bodyMassG":4450}',
  '{"billLengthMm":36.7,"billDepthMm":19.3,"flipperLengthMm":193,"bodyMassG":3450}',
  '{"billLengthMm":49.5,"billDepthMm":16.1,"flipperLengthMm":224,"bodyMassG":5650}',
}
local counter = 0
local prefix = "bench-"
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
end

function init(args)
  prefix = string.format("bench-%d-%d-%d-", thread_number or 0, os.time(), math.floor(os.clock() * 1000000))
end

function request()
  counter = counter + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. counter }, bodies[counter % #bodies + 1])
end
