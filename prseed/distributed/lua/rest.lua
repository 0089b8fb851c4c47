-- A rest only ever gets longer.
-- KEYS: the token's key. ARGV: resting until (epoch seconds), reason, seconds to keep the state.
local resting = tonumber(redis.call('HGET', KEYS[1], 'resting_until') or '0')
if tonumber(ARGV[1]) > resting then
  redis.call('HSET', KEYS[1], 'resting_until', ARGV[1], 'rest_reason', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
