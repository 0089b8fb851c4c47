-- Move the previous release's queue (a plain list, oldest first) into the sorted set, in
-- its order, unless a repository is queued or being crawled already; then drop the list.
-- KEYS: the old list, queue, queue entries, active. ARGV: the first score, the step
-- between two, the entry. Returns how many repositories moved.
local moved = 0
local old = redis.call('LRANGE', KEYS[1], 0, -1)
for i, repository in ipairs(old) do
  if redis.call('HEXISTS', KEYS[4], repository) == 0 and not redis.call('ZSCORE', KEYS[2], repository) then
    redis.call('ZADD', KEYS[2], tonumber(ARGV[1]) + (i - 1) * tonumber(ARGV[2]), repository)
    redis.call('HSET', KEYS[3], repository, ARGV[3])
    moved = moved + 1
  end
end
redis.call('DEL', KEYS[1])
return moved
