// AppSync's APPSYNC_JS runtime for overcast: `util`, `runtime`, `extensions` of
// '@aws-appsync/utils' and the helpers of '@aws-appsync/utils/dynamodb', run in V8 (mini-racer).
(function (global) {
  'use strict';
  function AppSyncError(message, type, data, info) {
    this.__appsync = 'error'; this.message = message; this.type = type; this.data = data; this.info = info;
  }
  function EarlyReturn(value) { this.__appsync = 'return'; this.value = value; }
  let state = null;

  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  function utf8(s) { return unescape(encodeURIComponent(s)); }
  function b64encode(s) {
    s = utf8(String(s)); let out = '';
    for (let i = 0; i < s.length; i += 3) {
      const a = s.charCodeAt(i), b = s.charCodeAt(i + 1), c = s.charCodeAt(i + 2);
      const n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (isNaN(b) ? '=' : B64[(n >> 6) & 63]) + (isNaN(c) ? '=' : B64[n & 63]);
    }
    return out;
  }
  function b64decode(s) {
    s = String(s).replace(/[^A-Za-z0-9+/]/g, ''); let out = '';
    for (let i = 0; i < s.length; i += 4) {
      const n = (B64.indexOf(s[i]) << 18) | (B64.indexOf(s[i + 1]) << 12) | ((B64.indexOf(s[i + 2]) & 63) << 6) | (B64.indexOf(s[i + 3]) & 63);
      out += String.fromCharCode((n >> 16) & 255);
      if (s[i + 2] !== undefined) out += String.fromCharCode((n >> 8) & 255);
      if (s[i + 3] !== undefined) out += String.fromCharCode(n & 255);
    }
    try { return decodeURIComponent(escape(out)); } catch (e) { return out; }
  }
  function uuid() {
    const h = '0123456789abcdef'; let s = '';
    for (let i = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) s += '-';
      else if (i === 14) s += '4';
      else if (i === 19) s += h[(Math.random() * 4 | 0) + 8];
      else s += h[Math.random() * 16 | 0];
    }
    return s;
  }
  function pad(n, w) { n = String(n); while (n.length < w) n = '0' + n; return n; }
  function iso(ms) { return new Date(ms).toISOString(); }

  function toDynamoDB(v) {
    if (v === null || v === undefined) return { NULL: true };
    if (typeof v === 'boolean') return { BOOL: v };
    if (typeof v === 'number') return { N: v };
    if (typeof v === 'string') return { S: v };
    if (Array.isArray(v)) return { L: v.map(toDynamoDB) };
    if (typeof v === 'object') return { M: toMapValues(v) };
    return { S: String(v) };
  }
  function toMapValues(o) { const out = {}; for (const k of Object.keys(o || {})) if (o[k] !== undefined) out[k] = toDynamoDB(o[k]); return out; }

  const OPS = { eq: '=', ne: '<>', le: '<=', lt: '<', ge: '>=', gt: '>' };
  function expressionBuilder() {
    const names = {}, values = {}; let n = 0;
    const b = {
      name(path) { return String(path).split('.').map(p => { const k = '#' + p.replace(/[^A-Za-z0-9_]/g, '_'); names[k] = p; return k; }).join('.'); },
      value(v) { const k = ':v' + (n++); values[k] = toDynamoDB(v); return k; },
      out(expression) {
        const o = { expression };
        if (Object.keys(names).length) o.expressionNames = names;
        if (Object.keys(values).length) o.expressionValues = values;
        return o;
      },
    };
    return b;
  }
  function conditionText(b, filter) {
    const parts = [];
    for (const key of Object.keys(filter || {})) {
      const cond = filter[key];
      if (cond === undefined || cond === null) continue;
      if ((key === 'and' || key === 'or') && cond.length === 1) { parts.push(conditionText(b, cond[0])); continue; }  // ((x)) is redundant to DynamoDB
      if (key === 'and' || key === 'or') { parts.push('(' + cond.map(c => conditionText(b, c)).join(key === 'and' ? ' AND ' : ' OR ') + ')'); continue; }
      if (key === 'not') { parts.push('(NOT ' + conditionText(b, cond) + ')'); continue; }
      const name = b.name(key);
      const conds = (typeof cond === 'object' && !Array.isArray(cond)) ? cond : { eq: cond };
      for (const op of Object.keys(conds)) {
        const v = conds[op];
        if (OPS[op]) parts.push(`(${name} ${OPS[op]} ${b.value(v)})`);
        else if (op === 'contains') parts.push(`(contains(${name},${b.value(v)}))`);
        else if (op === 'notContains') parts.push(`(NOT contains(${name},${b.value(v)}))`);
        else if (op === 'beginsWith') parts.push(`(begins_with(${name},${b.value(v)}))`);
        else if (op === 'between') parts.push(`(${name} BETWEEN ${b.value(v[0])} AND ${b.value(v[1])})`);
        else if (op === 'attributeExists') parts.push(`(${v ? 'attribute_exists' : 'attribute_not_exists'}(${name}))`);
        else if (op === 'attributeType') parts.push(`(attribute_type(${name},${b.value(v)}))`);
        else if (op === 'in') parts.push(`(${name} IN (${v.map(x => b.value(x)).join(',')}))`);
        else if (op === 'size') for (const so of Object.keys(v)) parts.push(`(size(${name}) ${OPS[so]} ${b.value(v[so])})`);
        else throw new AppSyncError('Unsupported filter operator: ' + op, 'ValidationError');
      }
    }
    return parts.length > 1 ? '(' + parts.join(' AND ') + ')' : (parts[0] || '');
  }
  function toFilter(filter) {
    if (!filter || !Object.keys(filter).length) return null;
    const b = expressionBuilder(); return b.out(conditionText(b, filter));
  }
  function toSubscriptionFilter(filter, ignored, rules) {
    ignored = ignored || [];
    function groups(node) {
      let result = [[]];
      for (const key of Object.keys(node || {})) {
        const v = node[key];
        if (ignored.indexOf(key) >= 0 || v === null || v === undefined) continue;
        if (key === 'and') for (const sub of v) { const g = groups(sub); result = [].concat(...result.map(a => g.map(x => a.concat(x)))); }
        else if (key === 'or') { const alts = [].concat(...v.map(groups)); result = [].concat(...result.map(a => alts.map(x => a.concat(x)))); }
        else if (typeof v === 'object' && !Array.isArray(v)) for (const op of Object.keys(v)) result = result.map(g => g.concat([{ fieldName: key, operator: op, value: v[op] }]));
        else result = result.map(g => g.concat([{ fieldName: key, operator: 'eq', value: v }]));
      }
      return result;
    }
    return { filterGroup: groups(Object.assign({}, filter, rules || {})).filter(g => g.length).map(g => ({ filters: g })) };
  }

  const util = {
    error(message, type, data, info) { throw new AppSyncError(message, type, data, info); },
    appendError(message, type, data, info) { state.errors.push({ message, errorType: type === undefined ? null : type, data: data === undefined ? null : data, errorInfo: info === undefined ? null : info }); },
    unauthorized() { throw new AppSyncError(`Not Authorized to access ${state.field} on type ${state.parent}`, 'Unauthorized'); },
    autoId: uuid,
    autoUlid() { const c = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; let t = Date.now(), s = ''; for (let i = 0; i < 10; i++) { s = c[t % 32] + s; t = Math.floor(t / 32); } for (let i = 0; i < 16; i++) s += c[Math.random() * 32 | 0]; return s; },
    autoKsuid() { const c = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'; let s = ''; for (let i = 0; i < 27; i++) s += c[Math.random() * 62 | 0]; return s; },
    base64Encode: b64encode, base64Decode: b64decode,
    urlEncode(s) { return encodeURIComponent(String(s)).replace(/%20/g, '+'); },
    urlDecode(s) { return decodeURIComponent(String(s).replace(/\+/g, ' ')); },
    escapeJavaScript(s) { return JSON.stringify(String(s)).slice(1, -1).replace(/'/g, "\\'").replace(/\//g, '\\/'); },
    isNull(v) { return v === null || v === undefined; },
    isNullOrEmpty(v) { return v === null || v === undefined || v.length === 0 || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0); },
    isNullOrBlank(v) { return v === null || v === undefined || (typeof v === 'string' && v.trim() === ''); },
    defaultIfNull(v, d) { return v === null || v === undefined ? d : v; },
    defaultIfNullOrEmpty(v, d) { return util.isNullOrEmpty(v) ? d : v; },
    defaultIfNullOrBlank(v, d) { return util.isNullOrBlank(v) ? d : v; },
    matches(p, s) { return new RegExp('^(?:' + p + ')$').test(s); },
    authType() { return { API_KEY: 'API Key Authorization', AWS_IAM: 'IAM Authorization', AMAZON_COGNITO_USER_POOLS: 'User Pool Authorization', OPENID_CONNECT: 'Open ID Connect Authorization', AWS_LAMBDA: 'Lambda Authorization' }[state.authType] || ''; },
    time: {
      nowISO8601() { return iso(Date.now()); },
      nowEpochSeconds() { return Math.floor(Date.now() / 1000); },
      nowEpochMilliSeconds() { return Date.now(); },
      nowFormatted(fmt) { return util.time.epochMilliSecondsToFormatted(Date.now(), fmt); },
      parseISO8601ToEpochMilliSeconds(s) { return Date.parse(s); },
      epochMilliSecondsToSeconds(ms) { return Math.floor(ms / 1000); },
      epochMilliSecondsToISO8601(ms) { return iso(ms); },
      epochMilliSecondsToFormatted(ms, fmt) {
        const d = new Date(ms);
        return String(fmt).replace(/yyyy|MM|dd|HH|mm|ss|SSS|Z/g, t => ({ yyyy: d.getUTCFullYear(), MM: pad(d.getUTCMonth() + 1, 2), dd: pad(d.getUTCDate(), 2), HH: pad(d.getUTCHours(), 2), mm: pad(d.getUTCMinutes(), 2), ss: pad(d.getUTCSeconds(), 2), SSS: pad(d.getUTCMilliseconds(), 3), Z: '+0000' })[t]);
      },
    },
    dynamodb: {
      toDynamoDB, toMapValues,
      toString(v) { return { S: v }; }, toStringSet(v) { return { SS: v }; }, toNumber(v) { return { N: v }; },
      toNumberSet(v) { return { NS: v }; }, toBinary(v) { return { B: v }; }, toBinarySet(v) { return { BS: v }; },
      toBoolean(v) { return { BOOL: v }; }, toNull() { return { NULL: true }; }, toList(v) { return { L: v.map(toDynamoDB) }; },
      toMap(v) { return { M: toMapValues(v) }; },
      toS3Object(key, bucket, region, version) { return { S: JSON.stringify({ s3: { key, bucket, region, version } }) }; },
    },
    transform: {
      toDynamoDBFilterExpression(f) { const o = toFilter(f); return o ? JSON.stringify(o) : null; },
      toDynamoDBConditionExpression(f) { const o = toFilter(f); return o ? JSON.stringify(o) : null; },
      toSubscriptionFilter,
    },
    str: { toUpper: s => String(s).toUpperCase(), toLower: s => String(s).toLowerCase(), toReplace: (s, a, b) => String(s).split(a).join(b), normalize: (s, f) => String(s).normalize(String(f).toUpperCase()) },
    math: { roundNum: Math.round, minVal: Math.min, maxVal: Math.max, randomDouble: Math.random, randomWithinRange: (a, b) => a + Math.floor(Math.random() * (b - a + 1)) },
  };
  const runtime = { earlyReturn(value) { throw new EarlyReturn(value); } };
  const extensions = {
    setSubscriptionFilter(f) { state.filter = typeof f === 'string' ? JSON.parse(f) : f; },
    setSubscriptionInvalidationFilter() {}, invalidateSubscriptions() {}, evictFromApiCache() {},
  };

  // '@aws-appsync/utils/dynamodb'
  function keyOf(key) { return toMapValues(key); }
  function condition(c) { return c ? toFilter(c) : undefined; }
  const OPERATION = '__ddbop';
  const operations = {
    add(v) { return { [OPERATION]: 'add', value: v }; }, remove() { return { [OPERATION]: 'remove' }; },
    replace(v) { return { [OPERATION]: 'replace', value: v }; }, increment(v) { return { [OPERATION]: 'increment', value: v }; },
    decrement(v) { return { [OPERATION]: 'decrement', value: v }; }, append(v) { return { [OPERATION]: 'append', value: v }; },
    prepend(v) { return { [OPERATION]: 'prepend', value: v }; }, updateListItem(v, i) { return { [OPERATION]: 'updateListItem', value: v, index: i }; },
  };
  function updateExpression(values) {
    const b = expressionBuilder(); const set = [], add = [], remove = [];
    for (const k of Object.keys(values || {})) {
      const v = values[k], name = b.name(k);
      const op = v && typeof v === 'object' && v[OPERATION];
      if (!op || op === 'replace') set.push(`${name} = ${b.value(op ? v.value : v)}`);
      else if (op === 'remove') remove.push(name);
      else if (op === 'add') add.push(`${name} ${b.value(v.value)}`);
      else if (op === 'increment') set.push(`${name} = ${name} + ${b.value(v.value)}`);
      else if (op === 'decrement') set.push(`${name} = ${name} - ${b.value(v.value)}`);
      else if (op === 'append') set.push(`${name} = list_append(${name}, ${b.value(v.value)})`);
      else if (op === 'prepend') set.push(`${name} = list_append(${b.value(v.value)}, ${name})`);
      else if (op === 'updateListItem') set.push(`${name}[${v.index}] = ${b.value(v.value)}`);
    }
    const parts = [];
    if (set.length) parts.push('SET ' + set.join(', '));
    if (add.length) parts.push('ADD ' + add.join(', '));
    if (remove.length) parts.push('REMOVE ' + remove.join(', '));
    return b.out(parts.join(' '));
  }
  function projection(p) {
    if (!p || !p.length) return undefined;
    const b = expressionBuilder(); const o = b.out(p.map(x => b.name(x)).join(', '));
    return { expression: o.expression, expressionNames: o.expressionNames };
  }
  function clean(o) { for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k]; return o; }
  const ddb = {
    operations,
    get(p) { return clean({ operation: 'GetItem', key: keyOf(p.key), consistentRead: p.consistentRead, projection: projection(p.projection) }); },
    put(p) { return clean({ operation: 'PutItem', key: keyOf(p.key), attributeValues: toMapValues(p.item), condition: condition(p.condition) }); },
    remove(p) { return clean({ operation: 'DeleteItem', key: keyOf(p.key), condition: condition(p.condition) }); },
    update(p) { return clean({ operation: 'UpdateItem', key: keyOf(p.key), update: updateExpression(p.update), condition: condition(p.condition) }); },
    query(p) { return clean({ operation: 'Query', query: toFilter(p.query), filter: p.filter ? toFilter(p.filter) : undefined, index: p.index, nextToken: p.nextToken, limit: p.limit, scanIndexForward: p.scanIndexForward, consistentRead: p.consistentRead, select: p.select, projection: projection(p.projection) }); },
    scan(p) { p = p || {}; return clean({ operation: 'Scan', filter: p.filter ? toFilter(p.filter) : undefined, index: p.index, nextToken: p.nextToken, limit: p.limit, consistentRead: p.consistentRead, segment: p.segment, totalSegments: p.totalSegments, select: p.select, projection: projection(p.projection) }); },
    sync() { throw new AppSyncError('Sync is not supported by overcast.', 'UnsupportedOperation'); },
  };

  const line = (level) => (...a) => { state.logs.push([level, a.map(x => typeof x === 'string' ? x : JSON.stringify(x)).join(' ')]); };
  const console = { log: line('log'), info: line('info'), warn: line('warn'), error: line('error'), debug: line('debug') };

  global.__appsync = { util, runtime, extensions, Context: undefined, NONE: null };
  global.__appsync_ddb = ddb;
  global.console = console;
  global.__modules = {};
  global.__run = function (id, fn, ctxJson, meta) {
    const m = JSON.parse(meta);
    state = { errors: [], logs: [], filter: undefined, field: m.field, parent: m.parent, authType: m.authType };
    const ctx = JSON.parse(ctxJson);
    const out = { logs: state.logs, errors: state.errors };
    try {
      const mod = global.__modules[id];
      const f = mod && mod[fn];
      if (typeof f !== 'function') throw new AppSyncError(`The code does not export a ${fn} function.`, 'Code');
      const value = f(ctx);
      if (value && typeof value.then === 'function') throw new AppSyncError('Promises are not supported in the APPSYNC_JS runtime.', 'Code');
      out.value = value === undefined ? null : value;
    } catch (e) {
      if (e && e.__appsync === 'return') { out.early = true; out.value = e.value === undefined ? null : e.value; }
      else if (e && e.__appsync === 'error') out.error = { message: e.message, type: e.type === undefined ? null : e.type, data: e.data === undefined ? null : e.data, info: e.info === undefined ? null : e.info };
      else out.error = { message: String(e && e.message || e), type: 'Code', data: null, info: null };
    }
    out.stash = ctx.stash;
    if (state.filter !== undefined) out.filter = state.filter;
    return JSON.stringify(out);
  };
})(globalThis);
