/**
 * Lua for the job record. Each script checks the job's state and changes it
 * in one step, so two processes racing on a job (a reroute and a spill, a
 * stalled worker and its replacement, a cancel and a finish) can never both
 * win. Every script that changes a job also appends an event: to the job's
 * stream (for replay) and to its pub/sub channel (for live readers).
 *
 * KEYS[1] = job record hash, KEYS[2] = job event stream. ARGV[1] = channel.
 * Each event goes to the accepting API process's channel (`reply`), which
 * that process subscribed to once at start, so a request costs no SUBSCRIBE
 * round trip; and, once anyone follows the job (WATCHED), to the job's own
 * channel as well.
 */
const RECORD_LUA = `
-- The record's fields as this script knows them: read once (load), written once (flush).
-- A field read and not there is false; one not read yet is nil.
local F, dirty = {}, {}
-- A finishing worker in the accepting API's own process names that API's channel (\`channel\`):
-- an end for it is not published there but handed over in that process (\`seq\`, see local-replies.ts).
local handOver = { channel = '', seq = nil }
local function load(...)
  local names = {...}
  local values = redis.call('HMGET', KEYS[1], unpack(names))
  for i, name in ipairs(names) do F[name] = values[i] end
end
local function get(name)
  if F[name] == nil then F[name] = redis.call('HGET', KEYS[1], name) end
  return F[name]
end
local function set(name, value)
  F[name] = value
  dirty[name] = value
end
local function flush()
  local args = {}
  for name, value in pairs(dirty) do args[#args + 1] = name; args[#args + 1] = value end
  if #args > 0 then redis.call('HSET', KEYS[1], unpack(args)) end
  dirty = {}
end
local function isEnd(body)
  local kind = string.match(body, '^{"type":"(%a+)"')
  return kind == 'done' or kind == 'error' or kind == 'cancelled'
end
-- \`stored\`: the body the stream keeps instead, when it differs (a done event keeps its result in the record).
-- \`result\`: a done event's result, the value of the body's last key; the closing brace follows
-- it. Head, body and result are joined in one concatenation: every string a script makes costs
-- Lua an allocation and a collection in proportion to its size, and a 64 KB result copied four
-- times cost the finishing script ~0.16 ms more than copied once (502 against 341 µs).
local function emit(body, stored, result)
  local seq = (tonumber(get('seq')) or 0) + 1
  set('seq', tostring(seq))
  local job = string.match(KEYS[1], '{([^}]*)}$')
  local head = '{"seq":' .. seq .. ',"job":"' .. job .. '",'
  -- The whole event, made only for a message that carries it.
  local ev
  local function whole()
    if ev then return ev end
    if result then ev = head .. string.sub(body, 2) .. result .. '}' else ev = head .. string.sub(body, 2) end
    return ev
  end
  -- Batch items are read back through their batch's files, never replayed event by event:
  -- keeping no stream for them saves about a third of their Redis memory. Nobody watches a
  -- batch item's own channel either (its events route refuses), and on a Redis Cluster every
  -- PUBLISH is copied to every node.
  if not get('batch') then
    -- The stream lives as long as its record: CREATE, FINISH and CANCEL give both one TTL.
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'e', stored and head .. string.sub(stored, 2) or whole())
    -- Only a job someone follows (JobEventHub.follow marks it 'w') has listeners on its own channel.
    if get('w') then redis.call('PUBLISH', ARGV[1], whole()) end
  end
  -- The API process that accepted the job listens on its own channel for all its jobs; one
  -- whose client reads the answer whole ('re') only for its end (the rest is in the stream).
  local reply = get('reply')
  if reply and (not get('re') or isEnd(body)) then
    if get('re') and reply == handOver.channel then handOver.seq = seq else redis.call('PUBLISH', reply, whole()) end
  end
  return seq
end
local function terminal(status)
  return status == 'succeeded' or status == 'failed' or status == 'cancelled'
end
local function readHop(hop)
  local raw = get('h' .. hop)
  if raw then return cjson.decode(raw) end
  -- Hop 0 is not written at creation: it is the chain's first target, queued since createdAt.
  if tonumber(hop) ~= 0 then return nil end
  local chain = cjson.decode(get('chain') or '[]')
  return { hop = 0, target = chain[1], reason = 'first', status = 'queued', queuedAt = tonumber(get('createdAt')) }
end
-- What the caller needs once a job has finished: whom to account it to (its batch, its
-- tenant, and whether it counts against the tenant's limit) and how long it waited and ran
-- (for the duration metrics).
local function summary(hop, outcome, now)
  local h = readHop(hop) or {}
  local target = h.target or ''
  return {
    get('batch') or '', get('tenant') or '', get('kind') or '', get('alias') or '',
    string.match(target, '^([^/]*)') or '', outcome,
    get('createdAt') or '', tostring(h.startedAt or ''), tostring(now), get('usage') or '',
    target, get('cost') or '', get('tl') or '',
  }
end
local function updateHop(hop, fields)
  local h = readHop(hop)
  if not h then return end
  for k, v in pairs(fields) do h[k] = v end
  set('h' .. hop, cjson.encode(h))
end
-- What every script that may emit reads, with the hop it expects.
local function loadFor(hop, ...)
  load('status', 'hop', 'seq', 'batch', 'reply', 're', 'w', 'dh', 'chain', 'createdAt', 'h' .. hop, ...)
end
`;

/** ARGV: channel, ttlSeconds, then field/value pairs. Creates the record and emits `queued`. */
export const CREATE = `${RECORD_LUA}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
F.seq, F.batch, F.reply, F.re, F.w = false, false, false, false, false
for i = 3, #ARGV, 2 do set(ARGV[i], ARGV[i + 1]) end
emit('{"type":"queued","hop":0}')
flush()
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
if not F.batch then redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2])) end
return 1
`;

/**
 * Marks hop \`hop\` running (from \`now\`, on \`endpoint\`), emitting \`started\`; its
 * fields are flushed by the caller. Answers 'ok', 'restart' (this hop already
 * ran once: its worker died), 'stale' (the job moved on), 'terminal' or 'gone',
 * changing nothing for the last three. Needs loadFor(hop, 'startedAt').
 */
const MARK_STARTED_LUA = `
local function markStarted(hop, now, endpoint, target)
  local status = F.status
  if not status then return 'gone' end
  if terminal(status) then return 'terminal' end
  if tonumber(F.hop) ~= tonumber(hop) then return 'stale' end
  local current = readHop(hop)
  local rerun = current ~= nil and current.startedAt ~= nil
  if rerun and F.dh == hop then
    emit('{"type":"restart","hop":' .. hop .. ',"reason":"worker_lost"}')
  end
  set('status', 'running')
  if not F.startedAt then set('startedAt', now) end
  updateHop(hop, { status = 'running', startedAt = tonumber(now), endpoint = endpoint })
  emit('{"type":"started","hop":' .. hop .. ',"target":' .. cjson.encode(target) .. ',"endpoint":' .. cjson.encode(endpoint) .. '}')
  if rerun then return 'restart' end
  return 'ok'
end
`;

/**
 * ARGV: channel, hop, now, endpoint, target. Returns 'ok', 'restart' (this
 * hop already ran once: its worker died), 'stale' (the job moved on) or 'terminal'.
 */
export const START_HOP = `${RECORD_LUA}${MARK_STARTED_LUA}
loadFor(ARGV[2], 'startedAt')
local outcome = markStarted(ARGV[2], ARGV[3], ARGV[4], ARGV[5])
flush()
return outcome
`;

/** ARGV: channel, hop, contentJson. Emits a delta only while that hop is the running one. */
export const DELTA = `${RECORD_LUA}
load('status', 'hop', 'seq', 'batch', 'reply', 're', 'w')
if F.status ~= 'running' then return 0 end
if F.hop ~= ARGV[2] then return 0 end
set('dh', ARGV[2])
emit('{"type":"delta","hop":' .. ARGV[2] .. ',"content":' .. ARGV[3] .. '}')
flush()
return 1
`;

/**
 * ARGV: channel, fromHop, now, fromStatus, fromErrorJson ('' for none),
 * nextHop, nextHopJson, nextTarget, reason, keptChars ('' for none). Moves
 * the job from one hop to the next, once: returns 0 when the job is finished
 * or already moved on. `dh` marks that readers hold streamed text of the job.
 * With keptChars the next hop continues that text (its first keptChars
 * characters stay, a \`restart\` event says so); without, readers are told to
 * drop it — unless a waiting client holds it, which nothing can take back:
 * then -1, moving nothing.
 */
export const ADVANCE_HOP = `${RECORD_LUA}
loadFor(ARGV[2])
local status = F.status
if not status or terminal(status) then return 0 end
if F.hop ~= ARGV[2] then return 0 end
local held = F.dh ~= false
if held and ARGV[10] == '' and F.reply then return -1 end
local fields = { status = ARGV[4], finishedAt = tonumber(ARGV[3]) }
if ARGV[5] ~= '' then fields.error = cjson.decode(ARGV[5]) end
updateHop(ARGV[2], fields)
if held and ARGV[10] ~= '' then
  emit('{"type":"restart","hop":' .. ARGV[6] .. ',"reason":' .. cjson.encode(ARGV[9]) .. ',"continues":true,"kept":' .. tonumber(ARGV[10]) .. '}')
elseif held then
  emit('{"type":"restart","hop":' .. ARGV[6] .. ',"reason":' .. cjson.encode(ARGV[9]) .. '}')
  redis.call('HDEL', KEYS[1], 'dh')
  F.dh = false
end
set('hop', ARGV[6]); set('h' .. ARGV[6], ARGV[7]); set('status', 'queued')
emit('{"type":"hop","hop":' .. ARGV[6] .. ',"target":' .. cjson.encode(ARGV[8]) .. ',"reason":' .. cjson.encode(ARGV[9]) .. '}')
flush()
return 1
`;

/**
 * Finishes the job at \`hop\` (-1: whatever hop is current) once: 0 when it was
 * already finished or moved on, else its summary, then the end's sequence
 * number if it was handed over ('' if published). ARGV from \`first\` on: now,
 * status, retentionSeconds, eventBody, hopErrorJson ('' for none), the
 * channel of the accepting API when it is in the caller's process ('' for
 * none: see handOver); from \`first\` + 6, field/value pairs for the record
 * (result, usage, error, model, provider). An event body that ends in
 * \`"result":\` ends with the result field given here: a result (16
 * embeddings are ~65 KB) is sent once, not twice. The
 * stream's copy of that event says \`"resultInRecord":true\` instead of holding
 * the result a second time (readEvents puts it back). Needs
 * loadFor(hop, 'tenant', 'kind', 'alias', 'usage', 'cost', 'tl').
 */
const FINISH_LUA = `
local function finish(hopArg, first)
  local now, outcome, retention, body, hopError = ARGV[first], ARGV[first + 1], ARGV[first + 2], ARGV[first + 3], ARGV[first + 4]
  local status = F.status
  if not status or terminal(status) then return 0 end
  local hop = F.hop
  if hopArg ~= '-1' and hop ~= hopArg then return 0 end
  for i = first + 6, #ARGV, 2 do set(ARGV[i], ARGV[i + 1]) end
  local started = summary(hop, outcome, now)
  local hopFields = { finishedAt = tonumber(now) }
  if outcome == 'succeeded' then hopFields.status = 'succeeded' else hopFields.status = 'failed' end
  if hopError ~= '' then hopFields.error = cjson.decode(hopError) end
  updateHop(hop, hopFields)
  set('status', outcome); set('finishedAt', now)
  local stored, result = nil, nil
  if string.sub(body, -9) == '"result":' then
    stored = body .. 'null,"resultInRecord":true}'
    result = F.result
  end
  handOver.channel = ARGV[first + 5]
  emit(body, stored, result)
  handOver.channel = ''
  flush()
  redis.call('EXPIRE', KEYS[1], tonumber(retention))
  redis.call('EXPIRE', KEYS[2], tonumber(retention))
  started[#started + 1] = handOver.seq and tostring(handOver.seq) or ''
  return started
end
`;

/** ARGV: channel, hop, then as FINISH_LUA's from 3. */
export const FINISH = `${RECORD_LUA}${FINISH_LUA}
loadFor(ARGV[2], 'tenant', 'kind', 'alias', 'usage', 'cost', 'tl')
return finish(ARGV[2], 3)
`;

/**
 * A hop that was never marked running (it answered before its mark was due,
 * see run-hop) is marked and finished in one step: its \`started\` event, then
 * its end. ARGV: channel, hop, startedAt, endpoint, target, then as
 * FINISH_LUA's from 6. 0 when the hop could not start (the job moved on or
 * finished), else the summary.
 */
export const START_AND_FINISH = `${RECORD_LUA}${MARK_STARTED_LUA}${FINISH_LUA}
loadFor(ARGV[2], 'startedAt', 'tenant', 'kind', 'alias', 'usage', 'cost', 'tl')
local outcome = markStarted(ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if outcome ~= 'ok' and outcome ~= 'restart' then return 0 end
return finish(ARGV[2], 6)
`;

/** ARGV: channel, now, retentionSeconds, cancelChannel, jobId. */
export const CANCEL = `${RECORD_LUA}
load('status', 'hop', 'seq', 'batch', 'reply', 're', 'w', 'chain', 'createdAt', 'tenant', 'kind', 'alias', 'usage', 'cost', 'tl')
local status = F.status
if not status or terminal(status) then return 0 end
local hop = F.hop
local started = summary(hop, 'cancelled', ARGV[2])
updateHop(hop, { status = 'cancelled', finishedAt = tonumber(ARGV[2]) })
set('status', 'cancelled'); set('finishedAt', ARGV[2])
emit('{"type":"cancelled","hop":' .. hop .. '}')
flush()
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
redis.call('PUBLISH', ARGV[4], ARGV[5])
return started
`;

/**
 * ARGV: channel, hop, now, errorJson, attempt. Puts a failed hop back to
 * queued for another try on the same target (a pinned job), once per
 * attempt: returns 0 when the job finished or moved on meanwhile.
 */
export const RETRY_HOP = `${RECORD_LUA}
load('status', 'hop', 'chain', 'createdAt', 'h' .. ARGV[2])
local status = F.status
if not status or terminal(status) then return 0 end
if F.hop ~= ARGV[2] then return 0 end
updateHop(ARGV[2], { status = 'queued', error = cjson.decode(ARGV[4]), retries = tonumber(ARGV[5]), retryAt = tonumber(ARGV[3]) })
set('status', 'queued')
flush()
return 1
`;

/**
 * KEYS[1] = job record. Marks the job followed: its events go to its own
 * channel from now on (earlier ones are in its stream, which a follower
 * reads after marking). Never creates a record that is gone.
 */
export const WATCHED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'w', '1')
return 1
`;
