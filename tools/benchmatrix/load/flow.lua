-- A flow under wrk 4.1 (LuaJIT): each connection walks the scenario's steps in order,
-- again and again, each pass with a fresh cookie jar and fresh variables, like one user
-- after another. The steps come from the prelude load/request_script.py writes
-- (BENCHMATRIX_FLOW); wrk_report.lua's done() runs first, so wrk's own per-request report
-- is printed as for any run, then one line of this script's figures:
--   BENCHMATRIX_FLOW_JSON {...}   (read by load/flow_report.py; fields listed at done())
--
-- One connection per wrk thread (the harness runs -t equal to -c): wrk's request() and
-- response() hooks do not say which connection they serve, so a thread's state (the
-- step it is at, its cookies, its variables) is one connection's state only when the
-- thread has one connection.
--
-- Each step's answer is checked by its status here (bodies are checked by the harness's
-- probe before, during and after the load). A wrong status, or a value that could not be
-- extracted, ends that pass as a failed flow; the next pass starts at step 1.
--
-- Cookies: wrk hands response() one value per header name (the last of repeated ones), so
-- of several Set-Cookie headers in one answer only the last reaches the jar here.
--
-- Timing: each step from the moment wrk asks for its request to its answer, on the
-- monotonic clock; a whole flow from its first step's request to its last step's answer.
-- Histograms as fixed_rate.lua keeps them (latency_buckets.lua: log-linear buckets over ns,
-- 0.8 %), one per step and one for whole flows, in a block per thread the main state
-- allocates in setup() (wrk cannot hand tables between its Lua states), read in done() after
-- the threads end.

dofile(BENCHMATRIX_REPORT_SCRIPT)  -- wrk_report.lua: defines done() for wrk's own figures
local report_done = done

local ffi = require("ffi")
-- The histograms, the clock and the JSON numbers, shared with fixed_rate.lua; from this
-- script's own folder, where the harness keeps (and copies to a load host) both.
local buckets = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "latency_buckets.lua")
local now, num = buckets.now, buckets.num

local MARKER = "BENCHMATRIX_FLOW_JSON "
local STEPS = BENCHMATRIX_FLOW
local NSTEPS = #STEPS

-- A thread's block: series[0] for whole flows, series[1..NSTEPS] for the steps.
ffi.cdef([[
typedef struct {
  double failed;           /* wrong status, or nothing to extract */
  lb_histogram latency;    /* latency_buckets.lua */
} flow_series;

typedef struct {
  double started;          /* flow passes begun */
  flow_series series[?];
} flow_block;
]])

---------------------------------------------------------------------------
-- setup and done: wrk's main environment

local blocks, arrays = {}, {}

function setup(thread)
  local array = ffi.new("flow_block", NSTEPS + 1)  -- zero-filled
  for s = 0, NSTEPS do
    buckets.clear(array.series[s].latency)
  end
  arrays[#arrays + 1] = array
  blocks[#blocks + 1] = array
  -- A user-space address fits a double exactly (x86-64 and arm64 use 47-48 bits).
  thread:set("flow_block_address", tonumber(ffi.cast("uintptr_t", ffi.cast("flow_block *", array))))
end

---------------------------------------------------------------------------
-- init, request, response: each thread's own environment

local block
local step, in_flight, sent_at, flow_started = 1, false, 0, 0
local jar_names, jar, vars = {}, {}, {}

local function record(series, seconds, failed)
  local one = block.series[series]
  if failed then
    one.failed = one.failed + 1
  end
  buckets.record(one.latency, seconds)
end

function init(args)
  block = ffi.cast("flow_block *", flow_block_address)
end

local function fill(pieces)
  local out = {}
  for k, piece in ipairs(pieces) do
    out[k] = piece[1] and (vars[piece[2]] or "") or piece[2]
  end
  return table.concat(out)
end

local function restart()
  step, jar_names, jar, vars = 1, {}, {}, {}
end

local request_text
function request()
  if in_flight then
    sent_at = now()  -- a resend after a reconnect (or wrk's check before the run): the same step, timed anew
    return request_text
  end
  local s = STEPS[step]
  local headers = {}
  for name, value in pairs(wrk.headers) do
    headers[name] = value  -- Host, and wrk's --header ones (Connection: close in --connection-mode close)
  end
  for _, header in ipairs(s.headers) do
    headers[header[1]] = fill(header[2])
  end
  if #jar_names > 0 and not headers["Cookie"] then
    local pairs_ = {}
    for k, name in ipairs(jar_names) do
      pairs_[k] = name .. "=" .. jar[name]
    end
    headers["Cookie"] = table.concat(pairs_, "; ")
  end
  request_text = wrk.format(s.method, s.path, headers, s.body and fill(s.body) or nil)
  in_flight = true
  sent_at = now()
  if step == 1 then
    flow_started = sent_at
    block.started = block.started + 1
  end
  return request_text
end

local function header_value(headers, name)
  local lower = name:lower()
  for key, value in pairs(headers) do
    if key:lower() == lower then
      return value
    end
  end
  return nil
end

local function keep_cookie(line)
  local name, value = line:match("^%s*([^=;%s]+)=([^;]*)")
  if not name then
    return
  end
  if line:lower():find("max%-age=0", 1) then
    if jar[name] then
      jar[name] = nil
      for k, held in ipairs(jar_names) do
        if held == name then
          table.remove(jar_names, k)
          break
        end
      end
    end
    return
  end
  if not jar[name] then
    jar_names[#jar_names + 1] = name
  end
  jar[name] = value
end

local function extracted(kind, argument, headers, body)
  if kind == "cookie" then
    return jar[argument]
  elseif kind == "header" then
    return header_value(headers, argument)
  end
  return body:match(argument)  -- the pattern's first capture, or the whole match without one
end

function response(status, headers, body)
  if not in_flight then
    return
  end
  in_flight = false
  local t = now()
  local s = STEPS[step]
  local failed = status ~= s.status
  local cookie = header_value(headers, "Set-Cookie")
  if cookie then
    keep_cookie(cookie)
  end
  if not failed then
    for _, rule in ipairs(s.extract) do
      local value = extracted(rule[2], rule[3], headers, body or "")
      if value == nil then
        failed = true
        break
      end
      vars[rule[1]] = value
    end
  end
  record(step, t - sent_at, failed)
  if failed then
    record(0, t - flow_started, true)
    restart()
  elseif step == NSTEPS then
    record(0, t - flow_started, false)
    restart()
  else
    step = step + 1
  end
end

---------------------------------------------------------------------------
-- done: merge the threads' blocks, print wrk's report and then the flow's

-- Series `series` merged over every thread's block, with its failed count.
local function merged(series)
  local histograms, failed = {}, 0
  for k, b in ipairs(blocks) do
    histograms[k] = b.series[series].latency
    failed = failed + b.series[series].failed
  end
  local h = buckets.merged(histograms)
  h.failed = failed
  return h
end

local function json_string(text)
  return '"' .. (text:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end)) .. '"'
end

local function series_json(name, h)
  local parts = { '"name":' .. json_string(name), '"count":' .. num(h.total),
                  '"failed":' .. num(h.failed) }
  if h.total > 0 then
    local mean, stdev = buckets.mean_stdev(h)
    parts[#parts + 1] = '"mean_ms":' .. num(mean)
    parts[#parts + 1] = '"stdev_ms":' .. num(stdev)
    parts[#parts + 1] = '"min_ms":' .. num(h.min / 1e6)
    parts[#parts + 1] = '"max_ms":' .. num(h.max / 1e6)
    for _, p in ipairs({ 50, 75, 90, 99, 99.9 }) do
      parts[#parts + 1] = string.format('"p%s_ms":%s', tostring(p), num(buckets.value_at(h, p)))
    end
    parts[#parts + 1] = '"histogram_us":' .. buckets.histogram_json(h)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- JSON fields: threads; started (flow passes begun); flow: the whole flows' series;
-- steps: one series per step, in order. A series: name, count (answers, or finished
-- passes), failed (wrong status or nothing to extract), mean/stdev/min/max and
-- p50..p99.9 in ms, histogram_us [[us, count], ...] (absent when count is 0).
function done(summary, latency, requests)
  report_done(summary, latency, requests)
  local started = 0
  for _, b in ipairs(blocks) do
    started = started + b.started
  end
  local steps = {}
  for s = 1, NSTEPS do
    steps[s] = series_json(STEPS[s].name, merged(s))
  end
  io.stdout:write(MARKER, "{", '"threads":', num(#blocks), ',"started":', num(started),
    ',"flow":', series_json("flow", merged(0)), ',"steps":[', table.concat(steps, ","), "]}\n")
  io.stdout:flush()
end
