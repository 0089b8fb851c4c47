-- GitHub's word on a budget; answers arrive out of order, so a higher remaining counts
-- only with a later reset (TokenPool.record_budget's rule, applied across workers).
-- KEYS: the token's key. ARGV: remaining, reset_at, limit or '', seconds to keep the state.
local current = redis.call('HMGET', KEYS[1], 'remaining', 'reset_at')
local remaining, reset_at = tonumber(ARGV[1]), tonumber(ARGV[2])
if current[1] and reset_at <= tonumber(current[2]) + 1 then
  remaining = math.min(remaining, tonumber(current[1]))
  reset_at = math.max(reset_at, tonumber(current[2]))
end
redis.call('HSET', KEYS[1], 'remaining', remaining, 'reset_at', reset_at)
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'limit', ARGV[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
