-- Let go of a repository this worker holds: hand it back (a hand-back score given), or
-- queue it again behind itself if it was marked dirty while crawled, or just let go.
-- KEYS: queue, queue entries, dirty, dirty entries, active, active entries.
-- ARGV: repository, this worker's name, the hand-back score or '', the hand-back entry.
-- Returns 'not held', 'handed back', 'queued again' or 'released'. A dirty mark outlives a
-- hand-back: the crawl that continues the repository may miss what the mark is for.
local repository = ARGV[1]
if redis.call('HGET', KEYS[5], repository) ~= ARGV[2] then
  return 'not held'
end
redis.call('HDEL', KEYS[5], repository)
redis.call('HDEL', KEYS[6], repository)
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], ARGV[3], repository)
  redis.call('HSET', KEYS[2], repository, ARGV[4])
  return 'handed back'
end
local dirty = redis.call('ZSCORE', KEYS[3], repository)
if dirty then
  redis.call('ZADD', KEYS[1], dirty, repository)
  redis.call('HSET', KEYS[2], repository, redis.call('HGET', KEYS[4], repository) or '')
  redis.call('ZREM', KEYS[3], repository)
  redis.call('HDEL', KEYS[4], repository)
  return 'queued again'
end
return 'released'
