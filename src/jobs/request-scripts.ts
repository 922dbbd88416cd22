/**
 * The repair request state machine, one Lua script per transition: each checks the current state, applies
 * the change, bumps the version, appends a versioned event and (for changes of state) the audit entry, all
 * atomically. KEYS: 1 request, 2 its events, 3 the audit stream, 4 the enqueue outbox, 5 pending requests by
 * expiry, 6 running requests.
 * ARGV: 1 now (ms), 2 audit MINID, 3 user, then the transition's own.
 */
const PRELUDE = `
local now, minid, user = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local raw = redis.call('GET', KEYS[1])
if not raw then return {'missing', ''} end
local r = cjson.decode(raw)
local function isnull(v) return v == nil or v == cjson.null end
-- Epoch milliseconds as UTC ISO 8601 (Redis Lua has no os.date): days to civil date, after H. Hinnant.
local function iso(ms)
  local s = math.floor(tonumber(ms) / 1000)
  local days = math.floor(s / 86400)
  local rem = s - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02dZ', y, m, d, math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60)
end
local function audit(event, detail)
  redis.call('XADD', KEYS[3], 'MINID', '~', minid, '*', 'event', event, 'request', r.id, 'cluster', r.cluster, 'user', user, 'detail', detail)
end
local function save(event, audit_event, detail, step)
  if r.status ~= 'pending' then redis.call('ZREM', KEYS[5], r.id) end
  if r.status == 'running' then redis.call('SADD', KEYS[6], r.id) else redis.call('SREM', KEYS[6], r.id) end
  r.version = (tonumber(r.version) or 0) + 1
  raw = cjson.encode(r)
  redis.call('SET', KEYS[1], raw, 'KEEPTTL')
  redis.call('RPUSH', KEYS[2], cjson.encode({ v = r.version, event = event, status = r.status, user = user, at = now, detail = detail, step = step }))
  redis.call('LTRIM', KEYS[2], -500, -1)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
  if audit_event ~= '' then audit(audit_event, detail) end
end
`;

const VOTE = `${PRELUDE}
local kind = ARGV[4]
if r.status ~= 'pending' then return {'not-pending', raw} end
if now > tonumber(r.expiresAt) then
  -- The clock expired it, not the clicker: their click is recorded apart, as refused.
  user = 'slotwatch'
  r.status = 'expired'
  save('expired', 'expired', 'approval window over: expired at ' .. iso(r.expiresAt) .. ', noticed at a click')
  return {'expired', raw}
end
if kind == 'reject' then
  r.status = 'rejected'
  r.rejectedBy = { user = user, at = now }
  save('rejected', 'rejected', 'rejected: request closed')
  return {'rejected', raw}
end
if r.requester == user then return {'self', raw} end
if type(r.approvals) ~= 'table' then r.approvals = {} end
for _, vote in ipairs(r.approvals) do
  if vote.user == user then return {'twice', raw} end
end
table.insert(r.approvals, { user = user, at = now })
if #r.approvals >= tonumber(r.required) then
  r.status = 'queued'
  save('queued', 'approved', #r.approvals .. '/' .. r.required)
  audit('queued', r.optionId)
  redis.call('SADD', KEYS[4], r.id)
  return {'quorum', raw}
end
save('approved', 'approved', #r.approvals .. '/' .. r.required)
return {'approved', raw}
`;

/** ARGV 4 token, 5 stale after (ms): take a queued request, or a running one whose runner went silent. */
const CLAIM = `${PRELUDE}
local token, stale = ARGV[4], tonumber(ARGV[5])
redis.call('SREM', KEYS[4], r.id)
if r.status == 'queued' then
  r.status = 'running'
  r.runner = token
  r.heartbeatAt = now
  save('claimed', 'started', r.optionId)
  return {'claimed', raw}
end
if r.status ~= 'running' then return {'closed', raw} end
-- Our own claim again: its first answer was lost or not confirmed by the replicas.
if r.runner == token then return {'claimed', raw} end
if now - (tonumber(r.heartbeatAt) or 0) <= stale then return {'busy', raw} end
r.runner = token
r.heartbeatAt = now
save('resumed', 'started', 'resumed after a worker stopped answering')
return {'resumed', raw}
`;

/** ARGV 4 token: the runner is alive; 0 when the request is no longer its own. */
const HEARTBEAT = `${PRELUDE}
if r.status ~= 'running' or r.runner ~= ARGV[4] then return {'lost', raw} end
r.heartbeatAt = now
redis.call('SET', KEYS[1], cjson.encode(r), 'KEEPTTL')
return {'ok', ''}
`;

/** ARGV 4 token, 5 step, 6 'start' | 'done', 7 detail. A start is refused once cancel was asked. */
const STEP = `${PRELUDE}
local token, step, phase, detail = ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7]
if r.status ~= 'running' or r.runner ~= token then return {'lost', raw} end
if phase == 'start' then
  if not isnull(r.cancelRequested) then return {'cancel', raw} end
  r.step = step
  r.heartbeatAt = now
  save('step-started', 'step', detail, step)
  return {'ok', raw}
end
if type(r.finished) ~= 'table' then r.finished = {} end
local seen = false
for _, s in ipairs(r.finished) do if s == step then seen = true end end
if not seen then table.insert(r.finished, step) end
r.step = cjson.null
save('step-finished', 'step', detail, step)
return {'ok', raw}
`;

/** ARGV 4 token, 5 step, 6 'skipped' | 'failed', 7 why: what the runner saw in a step, kept for the progress view. */
const NOTE = `${PRELUDE}
local token, step, kind, detail = ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7]
if r.status ~= 'running' or r.runner ~= token then return {'lost', raw} end
save('step-' .. kind, 'step', 'step ' .. step .. ' ' .. kind .. ': ' .. detail, step)
return {'ok', raw}
`;

/**
 * ARGV 4 token, 5 final status, 6 outcome, 7 audit event, 8 the result's summary (JSON, or empty). Only the
 * runner ends a running request (again: ok).
 */
const FINISH = `${PRELUDE}
if r.status == ARGV[5] and r.finishedBy == ARGV[4] then return {'ok', raw} end
if r.status ~= 'running' or r.runner ~= ARGV[4] then return {'lost', raw} end
r.status = ARGV[5]
r.outcome = ARGV[6]
if ARGV[8] ~= nil and ARGV[8] ~= '' then r.result = cjson.decode(ARGV[8]) end
r.finishedBy = ARGV[4]
r.runner = cjson.null
save(ARGV[5], ARGV[7], ARGV[6])
return {'ok', raw}
`;

/** Queued: cancelled at once. Running: asked (the runner stops before its next step). Otherwise: nothing. */
const CANCEL = `${PRELUDE}
if r.status == 'queued' then
  r.status = 'cancelled'
  r.cancelledBy = { user = user, at = now }
  r.outcome = 'Cancelled before it started: no step ran.'
  redis.call('SREM', KEYS[4], r.id)
  save('cancelled', 'cancelled', 'cancelled while queued: no step ran')
  return {'cancelled', raw}
end
if r.status ~= 'running' then return {'closed', raw} end
if not isnull(r.cancelRequested) then return {'already', raw} end
r.cancelRequested = { user = user, at = now }
r.cancelledBy = { user = user, at = now }
save('cancel-asked', 'cancelled', 'cancel asked: stops before its next step')
return {'asked', raw}
`;

/** A pending request past its expiry: expired by the clock, not blamed on a clicker. */
const EXPIRE = `${PRELUDE}
if r.status ~= 'pending' then
  redis.call('ZREM', KEYS[5], r.id)
  return {'no', raw}
end
if now <= tonumber(r.expiresAt) then return {'no', raw} end
r.status = 'expired'
save('expired', 'expired', 'approval window over')
return {'expired', raw}
`;

/** ARGV 4: why the request is no longer needed. A pending request only: one that runs finishes on its own. */
const RETIRE = `${PRELUDE}
if r.status ~= 'pending' then return {'no', raw} end
r.status = 'stale'
r.outcome = ARGV[4]
save('retired', 'stale', ARGV[4])
return {'retired', raw}
`;

/** ARGV 4: a JSON patch of fields that are not state (the Slack message ts). */
const ANNOTATE = `${PRELUDE}
for k, v in pairs(cjson.decode(ARGV[4])) do r[k] = v end
save('annotated', '', '')
return {'ok', raw}
`;

export const SCRIPTS = {
  vote: VOTE,
  claim: CLAIM,
  heartbeat: HEARTBEAT,
  step: STEP,
  note: NOTE,
  finish: FINISH,
  cancel: CANCEL,
  expire: EXPIRE,
  annotate: ANNOTATE,
  retire: RETIRE,
} as const;

export type Transition = keyof typeof SCRIPTS;
