-- Latency histograms for the scripts wrk runs (LuaJIT): fixed_rate.lua keeps two per
-- thread, flow.lua one per step and one for whole flows. One copy of the layout, the
-- clock, the merge and the JSON, so both scripts print the same notation that
-- results/latency_histogram.py merges across trials.
--
-- A script loads it from its own folder (the harness copies every load/*.lua together,
-- to an SSH load host too), then keeps what it returns:
--   local here = debug.getinfo(1, "S").source:match("^@(.*/)") or ""
--   local buckets = dofile(here .. "latency_buckets.lua")
--
-- Layout: log-linear buckets over nanoseconds, HdrHistogram's. Values below 128 ns get
-- 1 ns buckets; above, every power of two [2^o, 2^(o+1)) is cut into SUB equal buckets,
-- so a bucket is at most 1/64 of its lower edge wide and its midpoint is within 0.8 %
-- of any value in it. 1984 buckets reach 2^36 ns (68.7 s); anything beyond is counted
-- in the last one (the exact max is kept).
--
-- A histogram lives in an lb_histogram C struct, inside a block the main state
-- allocates and a thread writes through a pointer: wrk 4.1 can hand only flat values
-- between its Lua states, and the threads are joined before done() reads the blocks.

local ffi = require("ffi")
local floor, frexp = math.floor, math.frexp

local SUB = 64
local LINEAR = 2 * SUB
local NBUCKETS = LINEAR + (36 - 7) * SUB

ffi.cdef(string.format([[
typedef struct { long tv_sec; long tv_nsec; } lb_timespec;
int clock_gettime(int clk_id, lb_timespec *tp);

typedef struct {
  double count;             /* samples recorded */
  double min_ns, max_ns;    /* exact extremes; min starts at +inf (clear) */
  double sum_ms, sumsq_ms;  /* for the mean and the standard deviation */
  double counts[%d];
} lb_histogram;
]], NBUCKETS))

local M = { NBUCKETS = NBUCKETS }

local CLOCK_MONOTONIC = 1  -- Linux
local timespec = ffi.new("lb_timespec")

-- Seconds on the monotonic clock. Not os.clock() (CPU time of the process) nor
-- os.time() (whole seconds); wrk's own clock is gettimeofday, which can jump.
function M.now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

function M.bucket(ns)
  if ns < LINEAR then
    return floor(ns)
  end
  -- ns = m * 2^e with 0.5 <= m < 1, so ns lies in [2^(e-1), 2^e).
  local m, e = frexp(ns)
  local i = LINEAR + (e - 8) * SUB + floor(m * 2 * SUB) - SUB
  return i < NBUCKETS and i or NBUCKETS - 1
end
local bucket = M.bucket

-- The value a bucket stands for: its midpoint, in ns.
function M.bucket_value(i)
  if i < LINEAR then
    return i + 0.5
  end
  local j = i - LINEAR
  local width = 2 ^ (7 + floor(j / SUB)) / SUB
  return (SUB + j % SUB) * width + width / 2
end
local bucket_value = M.bucket_value

-- A zero-filled lb_histogram made ready to record: no minimum yet.
function M.clear(h)
  h.min_ns = math.huge
end

-- One sample of `seconds` into the lb_histogram h (a thread's own, through its pointer).
function M.record(h, seconds)
  local ns = seconds * 1e9
  local ms = ns * 1e-6
  local i = bucket(ns)
  h.counts[i] = h.counts[i] + 1
  h.count = h.count + 1
  h.sum_ms = h.sum_ms + ms
  h.sumsq_ms = h.sumsq_ms + ms * ms
  if ns < h.min_ns then h.min_ns = ns end
  if ns > h.max_ns then h.max_ns = ns end
end

-- The lb_histograms of every thread as one Lua table: counts[0..NBUCKETS-1], total,
-- min/max (ns), sum/sumsq (ms).
function M.merged(histograms)
  local h = { counts = {}, total = 0, min = math.huge, max = 0, sum = 0, sumsq = 0 }
  for i = 0, NBUCKETS - 1 do
    h.counts[i] = 0
  end
  for _, one in ipairs(histograms) do
    local counts = one.counts
    for i = 0, NBUCKETS - 1 do
      local c = counts[i]
      if c > 0 then
        h.counts[i] = h.counts[i] + c
      end
    end
    h.total = h.total + one.count
    h.min = math.min(h.min, one.min_ns)
    h.max = math.max(h.max, one.max_ns)
    h.sum = h.sum + one.sum_ms
    h.sumsq = h.sumsq + one.sumsq_ms
  end
  return h
end

-- Mean and standard deviation in ms of a merged histogram with samples.
function M.mean_stdev(h)
  local mean = h.sum / h.total
  return mean, math.sqrt(math.max(0, h.sumsq / h.total - mean * mean))
end

-- Latency at percentile p in ms: the bucket holding the ceil(p% * total)-th
-- smallest sample, clamped to the exact min and max.
function M.value_at(h, p)
  if p >= 100 then
    return h.max / 1e6
  end
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
local value_at = M.value_at

-- Numbers as JSON: finite only, compact, C locale (wrk never calls setlocale).
function M.num(x, digits)
  if x ~= x or x == math.huge or x == -math.huge then
    return "null"
  end
  if x == floor(x) and math.abs(x) < 2 ^ 53 then
    return string.format("%d", x)
  end
  return string.format("%." .. (digits or 6) .. "g", x)
end
local num = M.num

-- The non-zero buckets, [[us, count], ...] ascending, so Python can merge trials with
-- exact counts (tools/benchmatrix/results/latency_histogram.py). A bucket stands for its
-- midpoint, clamped to the exact min and max as value_at does, so a merged histogram
-- keeps the run's extremes; the value is within 0.8 % of every sample in the bucket.
function M.histogram_json(h)
  local rows = {}
  for i = 0, NBUCKETS - 1 do
    local count = h.counts[i]
    if count > 0 then
      local ns = math.min(math.max(bucket_value(i), h.min), h.max)
      rows[#rows + 1] = "[" .. num(ns / 1e3, 9) .. "," .. num(count) .. "]"
    end
  end
  return "[" .. table.concat(rows, ",") .. "]"
end

-- HdrHistogram's percentile spectrum with 5 ticks per half distance (as wrk2
-- prints): steps of 10 % up to 50, 5 % up to 75, 2.5 % up to 87.5, and so on,
-- while at least one sample lies above the percentile; then 100 % = the max.
-- Every step is a binary fraction, so the sums stay exact.
function M.spectrum_json(h)
  if h.total == 0 then
    return "[]"
  end
  local rows, p = {}, 0
  while (100 - p) / 100 * h.total >= 1 do
    rows[#rows + 1] = "[" .. num(p, 10) .. "," .. num(value_at(h, p)) .. "]"
    local level = 1
    while (100 - p) * 2 ^ level <= 100 do
      level = level + 1
    end
    p = p + 100 / (5 * 2 ^ level)
  end
  rows[#rows + 1] = "[100," .. num(h.max / 1e6) .. "]"
  return "[" .. table.concat(rows, ",") .. "]"
end

return M
