"""The Redis Lua scripts of a distributed crawl: each is one step that must not interleave
with another worker's (see :class:`crawler.frontier.client.Frontier`, which runs them).

Invariants they keep: a shared request is always either in the queue or in exactly one
worker's inflight hash; a lease leaves that hash only together with the part file holding
its rows, or back to the queue (a retry, a dead worker, a worker leaving); once the crawl's
``finished`` key exists, nothing else is written for it.
"""

JOIN = """
local cur = redis.call('GET', KEYS[1])
if cur then return {cur, 0} end
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], 1}
"""
# KEYS: alive, workers, finished; ARGV: ttl_ms, worker. 0 = the crawl is over.
HEARTBEAT = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
"""
# A request is always in the queue or in exactly one worker's inflight hash.
POP_LEASE = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('HSET', KEYS[2], ARGV[1], r[2] .. '\\n' .. r[1])
return r[1]
"""
# KEYS: queue, dupefilter, finished; ARGV: fingerprint ('' = don't filter), score, request.
ENQUEUE = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if ARGV[1] ~= '' and redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
return 1
"""
# A leased request scheduled again (retry, redirect): push the new one, drop the lease.
REQUEUE_LEASED = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
return 1
"""
# KEYS: inflight, committed, stats, done, finished; ARGV: part ('' = none), worker, stats,
# leases... Fenced: refused (0) if a lease is no longer ours (we were taken for dead and
# reaped), or the crawl is over.
COMMIT = """
if redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
for i = 4, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then return 0 end
end
if #ARGV < 4 and ARGV[1] ~= '' and redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
for i = 4, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
if ARGV[1] ~= '' then redis.call('SADD', KEYS[2], ARGV[1]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[2], ARGV[3]) end
return 1
"""
# KEYS: queue, workers; ARGV: crawl prefix. Requeue the leases of workers whose heartbeat
# expired (same priority), forget those workers, and count the requeued leases crawl-wide
# (C:counters, so the count is right whichever worker reaped and whichever finishes).
REAP = """
local n = 0
for _, w in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[1] .. ':alive:' .. w) == 0 then
    local h = ARGV[1] .. ':inflight:' .. w
    local kv = redis.call('HGETALL', h)
    for i = 2, #kv, 2 do
      local nl = string.find(kv[i], '\\n', 1, true)
      redis.call('ZADD', KEYS[1], string.sub(kv[i], 1, nl - 1), string.sub(kv[i], nl + 1))
      n = n + 1
    end
    redis.call('DEL', h)
    redis.call('SREM', KEYS[2], w)
  end
end
if n > 0 then redis.call('HINCRBY', ARGV[1] .. ':counters', 'frontier/reaped', n) end
return n
"""
# KEYS: queue, workers, done, failed, finished; ARGV: crawl prefix, me.
# 0 = work left, 1 = drained and another worker finishes, 2 = you finish, 3 = failed.
DRAINED = """
if redis.call('EXISTS', KEYS[4]) == 1 then return 3 end
if redis.call('EXISTS', KEYS[5]) == 1 then return 1 end
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
for _, w in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('HLEN', ARGV[1] .. ':inflight:' .. w) > 0 then return 0 end
end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. ':alive:' .. holder) == 1
then return 1 end
redis.call('SET', KEYS[3], ARGV[2])
return 2
"""
# KEYS: done, failed, finished; ARGV: me, error. 1 = you record the failure.
FAIL = """
if redis.call('EXISTS', KEYS[3]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return 1
"""
# KEYS: queue, workers, inflight, alive, finished; ARGV: me. Leave: hand every lease back.
GIVE_BACK = """
if redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
local kv = redis.call('HGETALL', KEYS[3])
for i = 2, #kv, 2 do
  local nl = string.find(kv[i], '\\n', 1, true)
  redis.call('ZADD', KEYS[1], string.sub(kv[i], 1, nl - 1), string.sub(kv[i], nl + 1))
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('SREM', KEYS[2], ARGV[1])
return #kv / 2
"""
# KEYS: stats, finished; ARGV: worker, stats.
PUBLISH = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
"""
DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
