-- wrk's own result, as exact numbers: the human summary rounds counts (1.23M requests),
-- sizes (12.3MB) and times to three digits. done() runs once, after every thread has
-- finished, and sees wrk's totals and its own latency histogram. No request() or
-- response() is defined, so wrk keeps its static request and this costs nothing per
-- request. One line, after a marker the parser looks for (tools/benchmatrix/load/parse.py).
--
-- The line also carries wrk's latency histogram, "histogram_us": [[us, count], ...] of
-- its non-zero entries, ascending, so trials can be merged exactly. Measured on Debian's
-- wrk 4.1:
--   * The documented `latency(i)` (value and count of the i-th distinct value; `latency[i]`
--     returns the index as a string in 4.1) scans the whole array from min on every call:
--     28,256 values over a 6.8 s range took 37 s in done() on a 10 s run, near wrk's own
--     time limit. So done() reads wrk's array once, in O(max - min), through LuaJIT's FFI,
--     with the `stats` layout of wrk 4.1's stats.h (unchanged in 4.2).
--   * The histogram holds wrk's synthetic samples (stats_correct, added before done() for
--     every latency above twice the mean interval per connection): 8-15 % more entries
--     than requests on a quick local server. Undoing them needs the connection count,
--     which the Lua side cannot see; parse_wrk_report does it from the summary text.

local ffi = require("ffi")

-- wrk 4.1 stats.h. data[] has `limit` entries (the timeout in us, plus one); the
-- latency userdata holds a stats pointer (script_push_stats).
ffi.cdef([[
typedef struct {
  uint64_t count;
  uint64_t limit;
  uint64_t min;
  uint64_t max;
  uint64_t data[];
} benchmatrix_wrk_stats;
]])

local function number(value)
  return string.format("%.17g", value)
end

-- "[[us,count],...]" of wrk's non-zero histogram entries, or "null" when the memory
-- does not look like wrk 4.1's stats (another wrk build): min and max must be the ones
-- the public API reports, and the counts must add up to the stored total. Without
-- them no histogram is better than the public API's O(range)-per-value walk (above).
local function histogram_json(latency)
  local stats = ffi.cast("benchmatrix_wrk_stats **", latency)[0]
  local low, high = tonumber(stats.min), tonumber(stats.max)
  if low ~= latency.min or high ~= latency.max then
    return "null"
  end
  if high < low then
    return "[]"  -- nothing recorded: wrk leaves min at UINT64_MAX and max at 0
  end
  if high >= tonumber(stats.limit) then
    return "null"
  end
  local data, rows, total = stats.data, {}, 0
  for value = low, high do
    local count = tonumber(data[value])
    if count > 0 then
      rows[#rows + 1] = string.format("[%d,%d]", value, count)
      total = total + count
    end
  end
  if total ~= tonumber(stats.count) then
    return "null"
  end
  return "[" .. table.concat(rows, ",") .. "]"
end

function done(summary, latency, requests)
  local percentiles = {}
  for _, p in ipairs({50, 75, 90, 99, 99.9, 99.99}) do
    -- wrk's histogram holds microseconds
    percentiles[#percentiles + 1] = string.format('"%s": %s', tostring(p), number(latency:percentile(p)))
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCHMATRIX_WRK_JSON {"duration_us": %s, "requests": %s, "bytes": %s, ' ..
    '"errors": {"connect": %s, "read": %s, "write": %s, "status": %s, "timeout": %s}, ' ..
    '"latency_us": {"min": %s, "max": %s, "mean": %s, "stdev": %s, "percentiles": {%s}}, ' ..
    '"histogram_us": %s}\n',
    number(summary.duration), number(summary.requests), number(summary.bytes),
    number(errors.connect), number(errors.read), number(errors.write), number(errors.status),
    number(errors.timeout),
    number(latency.min), number(latency.max), number(latency.mean), number(latency.stdev),
    table.concat(percentiles, ", "), histogram_json(latency)))
end
