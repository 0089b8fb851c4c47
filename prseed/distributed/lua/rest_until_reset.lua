-- A used-up budget: nothing remains until the later of the two resets.
-- KEYS: the token's key. ARGV: reset_at (epoch seconds), seconds to keep the state.
local reset_at = math.max(tonumber(ARGV[1]), tonumber(redis.call('HGET', KEYS[1], 'reset_at') or '0'))
redis.call('HSET', KEYS[1], 'remaining', 0, 'reset_at', reset_at)
redis.call('EXPIRE', KEYS[1], ARGV[2])
