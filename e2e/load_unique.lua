
local counter = 0
local thread_id = 0
function setup(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
function init(args) math.randomseed(os.time() + tid * 7919) ; prefix = tostring(math.random(1, 1e9)) .. "-" .. tid end
request = function()
  counter = counter + 1
  local body = '{"id":"' .. prefix .. '-' .. counter .. '","action":"buy"}'
  return wrk.format("POST", "/webhooks/load", {["Content-Type"]="application/json", ["X-Token"]="loadtoken0123456789"}, body)
end
