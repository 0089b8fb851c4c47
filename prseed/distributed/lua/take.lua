-- Take over a repository whose worker is gone, or else pop the first queued one (the
-- lowest score: prseed.distributed.priority).
-- KEYS: queue, queue entries, active, active entries. ARGV: this worker's name, the worker
-- key prefix. Returns {repository, previous owner or '', its entry or ''}, or false when
-- there is nothing to take.
local active = redis.call('HGETALL', KEYS[3])
for i = 1, #active, 2 do
  local owner = active[i + 1]
  if owner ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. owner) == 0 then
    redis.call('HSET', KEYS[3], active[i], ARGV[1])
    return {active[i], owner, redis.call('HGET', KEYS[4], active[i]) or ''}
  end
end
local popped = redis.call('ZPOPMIN', KEYS[1])
if #popped == 0 then
  return false
end
local repository = popped[1]
local entry = redis.call('HGET', KEYS[2], repository) or ''
redis.call('HDEL', KEYS[2], repository)
redis.call('HSET', KEYS[3], repository, ARGV[1])
redis.call('HSET', KEYS[4], repository, entry)
return {repository, '', entry}
