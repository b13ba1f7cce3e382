-- wrk script: POST /api/predictions with the measurements of real penguins of all three species, in turn.
-- The requests are formatted once per thread; request() only hands the next one out.
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
local requests = {}
local next_index = 0

function init(args)
  for i, body in ipairs(bodies) do
    requests[i] = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
  end
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
