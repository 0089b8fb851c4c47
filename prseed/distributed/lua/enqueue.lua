-- Queue repositories that are neither queued nor being crawled; returns how many.
-- KEYS: queue, active. ARGV: the repositories.
local added = 0
for _, repository in ipairs(ARGV) do
  if redis.call('HEXISTS', KEYS[2], repository) == 0 and not redis.call('LPOS', KEYS[1], repository) then
    redis.call('RPUSH', KEYS[1], repository)
    added = added + 1
  end
end
return added
