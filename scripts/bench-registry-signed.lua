-- wrk script for signed GETs made ahead by `yitiji-bench sign-reads`: wrk cannot sign Ed25519, so
-- every request takes the next line of signed.txt ("timestamp nonce signature"); each wrk thread
-- takes its own lines, so no nonce is sent twice. Arguments (after --): signed.txt, kiosk id, path,
-- wrk's thread count. A thread that runs out of lines stops (make more lines than the run needs).
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot open " .. tostring(args[1]))
  kiosk = args[2]
  path = args[3]
  local total = tonumber(args[4])
  lines = {}
  local n = 0
  for line in file:lines() do
    if n % total == index then table.insert(lines, line) end
    n = n + 1
  end
  file:close()
  assert(#lines > 0, "no signed lines for thread " .. index .. " in " .. args[1] .. " (" .. n .. " lines)")
  next_line = 1
end

function request()
  local line = lines[next_line]
  if line == nil then
    wrk.thread:stop()
    line = lines[#lines]
  end
  next_line = next_line + 1
  local timestamp, nonce, signature = line:match("^(%S+) (%S+) (%S+)$")
  return wrk.format("GET", path, {
    ["X-Kiosk-Id"] = kiosk, ["X-Kiosk-Timestamp"] = timestamp,
    ["X-Kiosk-Nonce"] = nonce, ["X-Kiosk-Signature"] = signature,
  })
end
