-- Pop the oldest queued repository, or else take over one whose worker is gone.
-- KEYS: queue, active. ARGV: this worker's name, the worker key prefix.
-- Returns {repository, previous owner or ''}, or false when there is nothing to take.
local repository = redis.call('LPOP', KEYS[1])
if repository then
  redis.call('HSET', KEYS[2], repository, ARGV[1])
  return {repository, ''}
end
local active = redis.call('HGETALL', KEYS[2])
for i = 1, #active, 2 do
  local owner = active[i + 1]
  if owner ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. owner) == 0 then
    redis.call('HSET', KEYS[2], active[i], ARGV[1])
    return {active[i], owner}
  end
end
return false
