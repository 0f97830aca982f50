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
-- Histograms as fixed_rate.lua keeps them (log-linear buckets over ns, 0.8 %), one per
-- step and one for whole flows, in a block per thread the main state allocates in setup()
-- (wrk cannot hand tables between its Lua states), read in done() after the threads end.

dofile(BENCHMATRIX_REPORT_SCRIPT)  -- wrk_report.lua: defines done() for wrk's own figures
local report_done = done

local ffi = require("ffi")
local MARKER = "BENCHMATRIX_FLOW_JSON "
local STEPS = BENCHMATRIX_FLOW
local NSTEPS = #STEPS

local SUB = 64
local LINEAR = 2 * SUB
local NBUCKETS = LINEAR + (36 - 7) * SUB
-- Per series (0 = whole flows, 1..NSTEPS = steps): count, failed, sum_ms, sumsq_ms, min_ns,
-- max_ns, then NBUCKETS counts.
local HEAD = 6
local SERIES = HEAD + NBUCKETS
local BLOCK = 1 + (NSTEPS + 1) * SERIES  -- [0] = flow passes started

ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } flow_timespec;
int clock_gettime(int clk_id, flow_timespec *tp);
]])
local timespec = ffi.new("flow_timespec")
local function now()
  ffi.C.clock_gettime(1, timespec)  -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local floor, frexp = math.floor, math.frexp
local function bucket(ns)
  if ns < LINEAR then
    return floor(ns)
  end
  local m, e = frexp(ns)
  local i = LINEAR + (e - 8) * SUB + floor(m * 2 * SUB) - SUB
  return i < NBUCKETS and i or NBUCKETS - 1
end

local function bucket_value(i)
  if i < LINEAR then
    return i + 0.5
  end
  local j = i - LINEAR
  local width = 2 ^ (7 + floor(j / SUB)) / SUB
  return (SUB + j % SUB) * width + width / 2
end

---------------------------------------------------------------------------
-- setup and done: wrk's main environment

local blocks, arrays = {}, {}

function setup(thread)
  local array = ffi.new("double[?]", BLOCK)  -- zero-filled
  for s = 0, NSTEPS do
    array[1 + s * SERIES + 4] = math.huge  -- min_ns
  end
  arrays[#arrays + 1] = array
  blocks[#blocks + 1] = array
  thread:set("flow_block_address", tonumber(ffi.cast("uintptr_t", array)))
end

---------------------------------------------------------------------------
-- init, request, response: each thread's own environment

local block
local step, in_flight, sent_at, flow_started = 1, false, 0, 0
local jar_names, jar, vars = {}, {}, {}

local function record(series, seconds, failed)
  local base = 1 + series * SERIES
  local ns = seconds * 1e9
  local ms = ns * 1e-6
  block[base] = block[base] + 1
  if failed then
    block[base + 1] = block[base + 1] + 1
  end
  block[base + 2] = block[base + 2] + ms
  block[base + 3] = block[base + 3] + ms * ms
  if ns < block[base + 4] then block[base + 4] = ns end
  if ns > block[base + 5] then block[base + 5] = ns end
  local i = base + HEAD + bucket(ns)
  block[i] = block[i] + 1
end

function init(args)
  block = ffi.cast("double *", flow_block_address)
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
    block[0] = block[0] + 1
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

local function num(x, digits)
  if x ~= x or x == math.huge or x == -math.huge then
    return "null"
  end
  if x == floor(x) and math.abs(x) < 2 ^ 53 then
    return string.format("%d", x)
  end
  return string.format("%." .. (digits or 6) .. "g", x)
end

local function merged(series)
  local h = { counts = {}, total = 0, failed = 0, min = math.huge, max = 0, sum = 0, sumsq = 0 }
  for i = 0, NBUCKETS - 1 do
    h.counts[i] = 0
  end
  for _, b in ipairs(blocks) do
    local base = 1 + series * SERIES
    h.total = h.total + b[base]
    h.failed = h.failed + b[base + 1]
    h.sum = h.sum + b[base + 2]
    h.sumsq = h.sumsq + b[base + 3]
    h.min = math.min(h.min, b[base + 4])
    h.max = math.max(h.max, b[base + 5])
    for i = 0, NBUCKETS - 1 do
      local c = b[base + HEAD + i]
      if c > 0 then
        h.counts[i] = h.counts[i] + c
      end
    end
  end
  return h
end

local function value_at(h, p)
  local rank = math.max(1, math.ceil(p / 100 * h.total - 1e-9))
  local seen = 0
  for i = 0, NBUCKETS - 1 do
    seen = seen + h.counts[i]
    if seen >= rank then
      return math.min(math.max(bucket_value(i), h.min), h.max) / 1e6
    end
  end
  return h.max / 1e6
end

local function json_string(text)
  return '"' .. (text:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end)) .. '"'
end

local function series_json(name, h)
  local parts = { '"name":' .. json_string(name), '"count":' .. num(h.total),
                  '"failed":' .. num(h.failed) }
  if h.total > 0 then
    local mean = h.sum / h.total
    parts[#parts + 1] = '"mean_ms":' .. num(mean)
    parts[#parts + 1] = '"stdev_ms":' .. num(math.sqrt(math.max(0, h.sumsq / h.total - mean * mean)))
    parts[#parts + 1] = '"min_ms":' .. num(h.min / 1e6)
    parts[#parts + 1] = '"max_ms":' .. num(h.max / 1e6)
    for _, p in ipairs({ 50, 75, 90, 99, 99.9 }) do
      parts[#parts + 1] = string.format('"p%s_ms":%s', tostring(p), num(value_at(h, p)))
    end
    local rows = {}
    for i = 0, NBUCKETS - 1 do
      if h.counts[i] > 0 then
        local ns = math.min(math.max(bucket_value(i), h.min), h.max)
        rows[#rows + 1] = "[" .. num(ns / 1e3, 9) .. "," .. num(h.counts[i]) .. "]"
      end
    end
    parts[#parts + 1] = '"histogram_us":[' .. table.concat(rows, ",") .. "]"
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
    started = started + b[0]
  end
  local steps = {}
  for s = 1, NSTEPS do
    steps[s] = series_json(STEPS[s].name, merged(s))
  end
  io.stdout:write(MARKER, "{", '"threads":', num(#blocks), ',"started":', num(started),
    ',"flow":', series_json("flow", merged(0)), ',"steps":[', table.concat(steps, ","), "]}\n")
  io.stdout:flush()
end
