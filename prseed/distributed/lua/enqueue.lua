-- Queue repositories, or raise the place of one queued already; mark one being crawled
-- dirty (queued again when its crawl ends) when its entry asks for that.
-- KEYS: queue, queue entries, dirty, dirty entries, active.
-- ARGV: the width of a class's band of scores, then five values per repository: its name,
-- score, entry, '1' if it marks a crawled one dirty, '1' if its pushed-at is only the
-- enqueue time (which raises a queued repository to a better class, never within one).
-- Returns one outcome per repository: queued, raised, kept, dirty or crawling.
local span = tonumber(ARGV[1])
local outcomes = {}
for i = 2, #ARGV, 5 do
  local repository, score, entry = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local marks, weak = ARGV[i + 3], ARGV[i + 4]
  local outcome
  if redis.call('HEXISTS', KEYS[5], repository) == 1 then
    outcome = 'crawling'
    if marks == '1' then
      local dirty = redis.call('ZSCORE', KEYS[3], repository)
      if not dirty or score < tonumber(dirty) then
        redis.call('ZADD', KEYS[3], score, repository)
        redis.call('HSET', KEYS[4], repository, entry)
      end
      outcome = 'dirty'
    end
  else
    local queued = redis.call('ZSCORE', KEYS[1], repository)
    local better = not queued or score < tonumber(queued)
    if better and queued and weak == '1' then
      better = math.ceil(score / span) < math.ceil(tonumber(queued) / span)
    end
    if better then
      redis.call('ZADD', KEYS[1], score, repository)
      redis.call('HSET', KEYS[2], repository, entry)
      outcome = queued and 'raised' or 'queued'
    else
      outcome = 'kept'
    end
  end
  outcomes[#outcomes + 1] = outcome
end
return outcomes
