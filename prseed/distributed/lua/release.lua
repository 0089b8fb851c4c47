-- Let go of a repository this worker holds; ARGV[2] = '1' puts it back at the queue's head.
-- KEYS: queue, active. ARGV: repository, requeue, this worker's name. Returns 1 if let go.
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[3] then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  redis.call('LPUSH', KEYS[1], ARGV[1])
end
return 1
