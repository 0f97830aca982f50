-- wrk's own result, as exact numbers: the human summary rounds counts (1.23M requests),
-- sizes (12.3MB) and times to three digits. done() runs once, after every thread has
-- finished, and sees wrk's totals and its own latency histogram. No request() or
-- response() is defined, so wrk keeps its static request and this costs nothing per
-- request. One line, after a marker the parser looks for (tools/benchmatrix/load/parse.py).

local function number(value)
  return string.format("%.17g", value)
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
    '"latency_us": {"min": %s, "max": %s, "mean": %s, "stdev": %s, "percentiles": {%s}}}\n',
    number(summary.duration), number(summary.requests), number(summary.bytes),
    number(errors.connect), number(errors.read), number(errors.write), number(errors.status),
    number(errors.timeout),
    number(latency.min), number(latency.max), number(latency.mean), number(latency.stdev),
    table.concat(percentiles, ", ")))
end
