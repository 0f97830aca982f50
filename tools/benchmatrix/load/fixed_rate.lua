-- Open-loop, constant-rate load for Debian's stock wrk 4.1 (LuaJIT), in place of wrk2.
--
--   wrk -t64 -c64 -d12s --timeout 2s -s tools/benchmatrix/fixed_rate.lua URL -- RATE [WINDOW]
--
-- RATE is the planned total in requests per second; WINDOW (seconds, default -d)
-- is how long requests are planned for. A -d longer than WINDOW is a drain: time
-- for the last planned requests to be answered before wrk stops, so a one-second
-- endpoint's final second of requests is measured instead of cut off.
-- -c must equal -t: every wrk thread drives exactly one connection, so each
-- response answers the one request that thread sent last (wrk's hooks do not say
-- which connection they serve), and one thread's schedule is one connection's
-- schedule. The run's concurrency is therefore its thread count; wrk's threads
-- are cheap (an event loop each, asleep between sends), so 64 or 400 of them carry
-- the connections a closed-loop run or wrk2 would use.
--
-- Schedule. With N threads, thread i sends its request k at T0_i + k * N / RATE.
-- T0_i is the moment thread i is first ready to send plus i / RATE, so the threads
-- interleave evenly. A thread sends only the requests planned before the window
-- closes, WINDOW seconds after wrk set up its first thread; wrk stops the threads
-- -d seconds after the set-up (on each one's next 100 ms tick), so requests still
-- unanswered then are reported as in flight. The plan is about WINDOW * RATE
-- requests (a little less: the threads start a few milliseconds into the window).
--
-- Achieved rate. Answers arrive one latency after their sends, so completions
-- over the planned window would undercount a slow endpoint that keeps up (at 8
-- req/s with 1 s answers, the last second's answers land after the window). The
-- achieved rate is instead the rate of the completion streams themselves: for
-- each thread, its answers after the first divided by the time from its first
-- answer to its last, summed over the threads. A server that keeps up completes
-- at the planned rate; one that falls behind completes at its own capacity, over
-- the window and the drain. Per thread, because the threads start one after
-- another (the i / RATE offsets, and each thread's own start) but stop together:
-- one stream over all of them counts that ramp as a slower rate (measured: 994 to
-- 997 of a planned 1000 req/s on 64 connections, all planned requests answered).
-- Where some thread completed only one answer it has no stream, and the
-- combined stream (first answer of any thread to the last) stands in.
--
-- When the server is late, the next request goes out as soon as the previous
-- answer is in, but its latency still counts from its PLANNED send time: a
-- stalled server then shows its stall in full, instead of the requests a
-- closed-loop client never sent during it vanishing from the statistics (wrk2's
-- coordinated-omission correction).
--
-- Output. done() prints one line to stdout, after wrk's own summary:
--   BENCHMATRIX_FIXED_RATE_JSON {...}
-- parse_fixed_rate_output() in fixed_rate.py reads it; the fields are listed at
-- done() below. wrk's own latency statistics are not used: they come from a
-- closed-loop view of the run plus synthetic samples of its own correction.

local ffi = require("ffi")
-- The histograms, the clock and the JSON numbers, shared with flow.lua; from this
-- script's own folder, where the harness keeps (and copies to a load host) both.
local buckets = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "latency_buckets.lua")
local now, num, floor = buckets.now, buckets.num, math.floor

local MARKER = "BENCHMATRIX_FIXED_RATE_JSON "

-- A request is "late" when it left more than this after its planned time, i.e.
-- its latency includes time spent waiting for the previous answer.
local LATE_S = 0.001

-- One block per thread, allocated by the setup/done environment and written by
-- the thread through a pointer. wrk 4.1 can hand only flat values between Lua
-- states (thread:get of a table mangles the stack; a nested one crashes), and it
-- has no hook at a thread's end where a thread could publish a summary itself.
-- The threads are joined before done() runs, so reading the blocks there is safe.
ffi.cdef([[
typedef struct {
  double setup;      /* monotonic s when wrk set up its first thread (written by setup) */
  double started;    /* monotonic s when the thread was first ready to send; 0 = never */
  double t0;         /* monotonic s of its first planned send */
  double rate;       /* planned requests per second, all threads together */
  double interval;   /* s between this thread's planned sends: threads / rate */
  double window_end; /* monotonic s: setup + WINDOW; nothing planned later is sent */
  double due;        /* requests planned in [t0, window_end) */
  double sent;       /* planned requests sent; request k is planned at t0 + k * interval */
  double completed;  /* responses to them */
  double non2xx;     /* ... whose status was not 2xx */
  double late;       /* requests sent more than LATE_S after their planned time */
  double first_done; /* monotonic s of the first response; 0 = none yet */
  double last_done;  /* monotonic s of the last response */
  lb_histogram corrected;    /* latency from the planned send (latency_buckets.lua) */
  lb_histogram uncorrected;  /* from the actual send */
} fr_stats;
]])

local function die(message)
  io.stderr:write("fixed_rate.lua: ", message, "\n")
  os.exit(1)
end

-- wrk keeps -t, -c and -d to itself, and init(args) sees only what follows "--".
-- The schedule needs all three, so read them from wrk's own command line, the way
-- wrk's getopt_long does: "-t2", "-t 2", "--threads 2", "--threads=2", prefixes of
-- long names, clustered flags ("-Lt2"), and wrk's defaults (2 threads, 10
-- connections, 10 s).
local function wrk_options()
  local f = io.open("/proc/self/cmdline", "rb")
  if not f then
    die("cannot read /proc/self/cmdline to learn wrk's -t, -c and -d (Linux only)")
  end
  local raw = f:read("*a")
  f:close()
  local argv = {}
  for word in raw:gmatch("([^%z]*)%z") do
    argv[#argv + 1] = word
  end

  local takes_value = { t = true, c = true, d = true, s = true, H = true, T = true }
  local long_names = {
    connections = "c", duration = "d", threads = "t", script = "s", header = "H",
    latency = "L", timeout = "T", help = "h", version = "v",
  }
  local raw_values = { t = "2", c = "10", d = "10" }
  local i = 2
  while i <= #argv do
    local word = argv[i]
    if word == "--" then
      break
    elseif word:sub(1, 2) == "--" then
      local name, value = word:match("^%-%-([^=]+)=(.*)$")
      name = name or word:sub(3)
      local letter = long_names[name]
      if not letter then
        for long, short in pairs(long_names) do
          if long:sub(1, #name) == name then
            if letter then
              letter = nil  -- ambiguous prefix: getopt rejects it, and so would wrk
              break
            end
            letter = short
          end
        end
      end
      if letter and takes_value[letter] and not value then
        i = i + 1
        value = argv[i]
      end
      if letter then
        raw_values[letter] = value
      end
    elseif word:sub(1, 1) == "-" and #word > 1 then
      local j = 2
      while j <= #word do
        local letter = word:sub(j, j)
        if takes_value[letter] then
          local value = word:sub(j + 1)
          if value == "" then
            i = i + 1
            value = argv[i]
          end
          raw_values[letter] = value
          break
        end
        j = j + 1
      end
    end
    i = i + 1
  end

  -- wrk's scan_metric (1k = 1000) and scan_time (s, m, h; a bare number is seconds).
  local function scaled(text, units, what)
    local number, unit = tostring(text):match("^(%d+)(%a*)$")
    unit = unit and unit:lower()
    if not number or units[unit] == nil then
      die(string.format("cannot read wrk's %s %q from its command line", what, tostring(text)))
    end
    return tonumber(number) * units[unit]
  end
  local counts = { [""] = 1, k = 1e3, m = 1e6, g = 1e9 }  -- case-insensitive, as in wrk
  local times = { [""] = 1, s = 1, m = 60, h = 3600 }
  return scaled(raw_values.t, counts, "-t"), scaled(raw_values.c, counts, "-c"),
         scaled(raw_values.d, times, "-d")
end

---------------------------------------------------------------------------
-- setup and done: wrk's main environment

local blocks = {}   -- fr_stats per thread, for done()
local arrays = {}   -- their owning cdata, kept referenced here so the GC never frees them
local setup_time    -- when wrk set up its first thread

function setup(thread)
  setup_time = setup_time or now()
  local array = ffi.new("fr_stats[1]")  -- zero-filled
  arrays[#arrays + 1] = array
  blocks[#blocks + 1] = array[0]
  array[0].setup = setup_time
  buckets.clear(array[0].corrected)
  buckets.clear(array[0].uncorrected)
  thread:set("fr_index", #blocks - 1)
  -- A user-space address fits a double exactly (x86-64 and arm64 use 47-48 bits).
  thread:set("fr_block_address", tonumber(ffi.cast("uintptr_t", array)))
end

---------------------------------------------------------------------------
-- init, delay, request, response: each wrk thread's own environment

local stats          -- this thread's fr_stats
local request_text   -- the request, built once
local armed = false  -- delay() has released the next planned request
local in_flight = false
local start_corrected, start_actual

-- Fix this thread's schedule from the moment t it can first send.
local function schedule_from(t)
  stats.t0 = t + fr_index / stats.rate
  -- Requests k = 0, 1, ... with t0 + k * interval < window_end; the epsilon keeps a
  -- request planned exactly at the window's end (up to rounding) out of it.
  stats.due = math.max(0, math.ceil((stats.window_end - stats.t0) / stats.interval - 1e-9))
end

function init(args)
  local rate = tonumber(args[1])
  if not rate or rate <= 0 or rate ~= rate or rate == math.huge then
    die(string.format("the planned rate must follow \"--\" as a positive number of "
      .. "requests per second, e.g. wrk -t2 -c2 -d10s -s fixed_rate.lua URL -- 200; got %q",
      tostring(args[1])))
  end
  local threads, connections, duration = wrk_options()
  local window = duration
  if args[2] ~= nil then
    window = tonumber(args[2])
    if not window or window <= 0 or window > duration then
      die(string.format("the planned window (after the rate) must be a number of seconds from 0 "
        .. "to wrk's -d (%g); got %q", duration, tostring(args[2])))
    end
  end
  if threads < 1 or floor(connections / threads) ~= 1 then
    -- wrk gives each thread floor(c / t) connections; more than one would break the
    -- request-to-response pairing, and zero would send nothing.
    die(string.format("run wrk with as many connections as threads (got -t%d -c%d; use -t%d "
      .. "-c%d): the fixed-rate schedule needs exactly one connection per thread",
      threads, connections, threads, threads))
  end

  stats = ffi.cast("fr_stats *", fr_block_address)
  stats.rate = rate
  stats.interval = threads / rate
  stats.window_end = stats.setup + window
  -- Until the thread starts, plan as if it started at once: a thread that never
  -- gets to send then owes its whole share, which done() reports as unsent.
  schedule_from(stats.setup)
  request_text = wrk.format()
end

-- Planned send time of the next request.
local function planned()
  return stats.t0 + stats.sent * stats.interval
end

-- wrk calls delay() before every request and waits the returned number of
-- milliseconds on its event loop. Two limits shape this:
--   * wrk converts the value to an integer by truncation (2.7 waits 2 ms, anything
--     below 1 waits 0), and its timers tick in whole milliseconds;
--   * measured on wrk 4.1, a wait of d ms ends d ms plus ~0.1 ms later, and up to
--     1 ms sooner when the thread wakes for another reason.
-- So the wait is rounded down: a request leaves at most ~1 ms before its planned
-- time and never meaningfully after it, and response() counts its latency from
-- whichever came first, the planned or the actual send. An early send is thus
-- measured from when it really left; the schedule stays absolute, so the jitter
-- never accumulates into the rate. Spinning for the sub-millisecond rest would
-- burn a core that the server under test may need.
function delay()
  local t = now()
  if stats.started == 0 then
    stats.started = t
    schedule_from(t)
  end
  if stats.sent >= stats.due then
    armed = false
    return 3600 * 1000  -- window over: idle until wrk stops the thread
  end
  armed = true
  local wait_ms = (planned() - t) * 1000
  if wait_ms < 1 then
    return 0  -- due, or overdue because the server was slow: send at once
  end
  return floor(wait_ms)
end

function request()
  -- wrk also calls request() once before the run to check the request parses, and
  -- again without delay() when it resends after a reconnect. Neither is a new
  -- planned request: the first is never sent, and a resend keeps the start time
  -- of the request it replaces.
  if armed then
    armed = false
    local t = now()
    local p = planned()
    start_actual = t
    start_corrected = p < t and p or t
    if t - p > LATE_S then
      stats.late = stats.late + 1
    end
    stats.sent = stats.sent + 1
    in_flight = true
  end
  return request_text
end

function response(status, headers, body)
  if not in_flight then
    return  -- an answer to a resend whose original was already answered
  end
  in_flight = false
  local t = now()
  stats.completed = stats.completed + 1
  if stats.first_done == 0 then
    stats.first_done = t
  end
  stats.last_done = t
  if status < 200 or status > 299 then
    stats.non2xx = stats.non2xx + 1
  end
  buckets.record(stats.corrected, t - start_corrected)
  buckets.record(stats.uncorrected, t - start_actual)
end

---------------------------------------------------------------------------
-- done: merge the threads' blocks and print the JSON line

local PERCENTILES = { { "p50", 50 }, { "p75", 75 }, { "p90", 90 }, { "p99", 99 },
                      { "p99.9", 99.9 }, { "p99.99", 99.99 } }

-- One histogram merged over every thread's block: "corrected" or "uncorrected".
local function merged(name)
  local histograms = {}
  for k, block in ipairs(blocks) do
    histograms[k] = block[name]
  end
  return buckets.merged(histograms)
end

local function latency_json(h)
  if h.total == 0 then
    return "null"
  end
  local mean, stdev = buckets.mean_stdev(h)
  local parts = {
    '"min":' .. num(h.min / 1e6), '"avg":' .. num(mean), '"stdev":' .. num(stdev),
    '"max":' .. num(h.max / 1e6),
  }
  for _, entry in ipairs(PERCENTILES) do
    parts[#parts + 1] = string.format('"%s":%s', entry[1], num(buckets.value_at(h, entry[2])))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- JSON fields:
--   driver "wrk-fixed-rate"; planned_rate (req/s); threads (= connections)
--   duration_s    from the first planned send to the window's end (about WINDOW s), or
--                 to the last answer when the server answered a backlog after it
--   planned       requests planned in the window, about WINDOW * rate
--   sent, requests (completed)
--   achieved_rate the rate answers arrived at: each thread's (answers - 1) over its
--                 first-to-last answer, summed; else (requests - 1) / completion_span_s
--   completion_span_s from the first answer to the last
--   unsent        planned requests never sent: still due when wrk stopped the threads
--   in_flight     sent but unanswered when wrk stopped
--   late_sends    sent more than 1 ms after their planned time (waited for the server)
--   non2xx        responses outside 200..299 (wrk's errors.status counts only >= 400)
--   errors        wrk's summary.errors: connect, read, write, timeout, status
--   latency_ms    corrected (from the planned send): min avg stdev max p50 p75 p90
--                 p99 p99.9 p99.99; null when nothing completed
--   uncorrected_ms the same from the actual send time
--   spectrum      [[percentile, ms], ...] ascending, HdrHistogram-style, corrected
--   histogram_us  [[us, count], ...] the corrected histogram's non-zero buckets
function done(summary, latency, requests)
  local first, overshoot = math.huge, 0
  local first_done, last_done = math.huge, 0
  local planned_total, sent, completed, non2xx, late = 0, 0, 0, 0, 0
  local rate, window_end = 0, 0
  local stream_rates, every_thread_streams = 0, true
  for _, block in ipairs(blocks) do
    if block.started > 0 then
      first = math.min(first, block.t0)
      -- Answers after the window closed: the server fell behind.
      overshoot = math.max(overshoot, block.last_done - block.window_end)
    end
    if block.completed > 0 then
      first_done = math.min(first_done, block.first_done)
      last_done = math.max(last_done, block.last_done)
      local own_span = block.last_done - block.first_done
      if block.completed >= 2 and own_span > 0 then
        stream_rates = stream_rates + (block.completed - 1) / own_span
      else
        every_thread_streams = false
      end
    end
    planned_total = planned_total + block.due
    sent = sent + block.sent
    completed = completed + block.completed
    non2xx = non2xx + block.non2xx
    late = late + block.late
    rate, window_end = block.rate, block.window_end
  end
  local threads = #blocks
  -- From the first planned send to the window's end, or to the last answer after it.
  local duration = window_end - first + overshoot
  if first == math.huge then
    duration = summary.duration / 1e6  -- no thread ever got to send: wrk's run time
  end

  -- The completion streams' own rates (see "Achieved rate" at the top); with a single
  -- answer there is no stream, and the planned window stands in.
  local achieved = duration > 0 and completed / duration or 0
  local span = last_done - first_done
  if completed >= 2 and span > 0 then
    achieved = every_thread_streams and stream_rates or (completed - 1) / span
  end

  local e = summary.errors
  local corrected = merged("corrected")
  local fields = {
    '"driver":"wrk-fixed-rate"',
    '"planned_rate":' .. num(rate, 10),
    '"threads":' .. num(threads),
    '"duration_s":' .. num(duration, 10),
    '"planned":' .. num(planned_total),
    '"sent":' .. num(sent),
    '"requests":' .. num(completed),
    '"achieved_rate":' .. num(achieved, 10),
    '"completion_span_s":' .. num(completed >= 2 and span or 0, 10),
    '"unsent":' .. num(planned_total - sent),
    '"in_flight":' .. num(sent - completed),
    '"late_sends":' .. num(late),
    '"non2xx":' .. num(non2xx),
    string.format('"errors":{"connect":%s,"read":%s,"write":%s,"timeout":%s,"status":%s}',
      num(e.connect), num(e.read), num(e.write), num(e.timeout), num(e.status)),
    '"wrk_duration_s":' .. num(summary.duration / 1e6, 10),
    '"latency_ms":' .. latency_json(corrected),
    '"uncorrected_ms":' .. latency_json(merged("uncorrected")),
    '"spectrum":' .. buckets.spectrum_json(corrected),
    '"histogram_us":' .. buckets.histogram_json(corrected),
  }
  io.stdout:write(MARKER, "{", table.concat(fields, ","), "}\n")
  io.stdout:flush()
end
