// The side-by-side benchmark: ozg-registry and PostGraphile 4 and 5 on the same PostgreSQL database
// and the same generated data (and ozg-registry once more on SQLite with the same data), checked
// for equal answers, then driven by wrk in interleaved rounds. Started by ./run (which installs
// wrk, both PostGraphiles and Node 22, and builds the release binary). See README.md.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { queries } from './queries.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const sizes = (args.sizes ?? '1000,10000').split(',').map(Number);
const duration = Number(args.duration ?? 10);
const rounds = Number(args.rounds ?? 2);
const connections = Number(args.connections ?? 16);
const only = args.queries ? args.queries.split(',') : null;
const admin = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// Both sides talk to PostgreSQL over plain TCP on 127.0.0.1 (node-postgres does not use TLS
// unless told to; libpq would negotiate it).
const dbUrl = admin.replace(/\/[^/?]*(\?.*)?$/, '/ozg_bench?sslmode=disable');
const scaleOf = { 1000: 'small', 10000: 'medium', 100000: 'nationwide' };
const work = mkdtempSync(join(tmpdir(), 'ozg-bench-'));
const bin = join(root, 'target/release/ozg-registry');
const node22 = join(here, 'v5/node_modules/node/bin/node');
const OZG = 'ozg-registry';
const OZG_SQLITE = 'ozg-registry SQLite';
const PEERS = ['PostGraphile 4', 'PostGraphile 5'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const psql = (sql, db = admin) => execFileSync('psql', [db, '-qAtc', sql], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }).toString();

function start(name, cmd, argv, env) {
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log = (log + d).slice(-4000); });
  child.on('exit', (code) => { if (!child.stopping) console.error(`${name} exited (${code}):\n${log}`); });
  return child;
}

function stop(child) {
  child.stopping = true;
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
}

/// CPU seconds and peak resident memory (MB) of a process group.
function usage(pgid) {
  const pids = execFileSync('ps', ['-eo', 'pid=,pgid=']).toString().trim().split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number)).filter(([, g]) => g === pgid).map(([p]) => p);
  let cpu = 0, peak = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu += (Number(fields[11]) + Number(fields[12])) / 100;
      const hwm = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
      if (hwm) peak += Number(hwm[1]) / 1024;
    } catch { /* exited meanwhile */ }
  }
  return { cpu, peak };
}

async function post(server, query, variables) {
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  if (server.auth) headers.authorization = server.auth;
  const r = await fetch(server.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const v = await r.json();
  // ozg-registry reports the SQL statements of each request (OZG_REGISTRY_QUERY_COUNT_HEADER).
  const n = r.headers.get('x-db-queries');
  if (n !== null) Object.defineProperty(v, 'statements', { value: Number(n) });
  return v;
}

async function ready(server) {
  for (let i = 0; i < 300; i++) {
    try {
      const v = await post(server, '{ __typename }', {});
      if (v.data) return;
    } catch { /* not yet */ }
    await sleep(200);
  }
  throw new Error(`${server.name} did not start`);
}

let runs = 0;
function wrk(server, bodies) {
  const file = join(work, 'bodies.txt');
  writeFileSync(file, bodies.join('\n') + '\n');
  const out = execFileSync('wrk', ['-t2', `-c${connections}`, `-d${duration}s`, '--latency', '-s', join(here, 'wrk.lua'), server.url.replace(/\/graphql$/, '')], {
    env: { ...process.env, BODIES_FILE: file, AUTHORIZATION: server.auth ?? '', RUN_ID: `${process.pid}-${++runs}` },
  }).toString();
  const m = out.match(/RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/);
  if (!m) throw new Error(`wrk printed no result:\n${out}`);
  const [, requests, seconds, p50, p99, errors] = m.map(Number);
  return { requests, rps: requests / seconds, p50, p99, errors };
}

/// Open-loop load at a fixed rate (requests are sent on schedule whether or not earlier ones have
/// been answered), for latency at a given throughput: p50 and p99 in ms, and errors.
async function fixedRate(server, bodies, rate, seconds) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(server.url);
  const latencies = [];
  let errors = 0, i = 0;
  const one = (body) => new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (server.auth) headers.authorization = server.auth;
    const req = httpRequest({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200 || text.includes('"errors"')) errors++;
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end(body);
  });
  const pending = [];
  const began = performance.now();
  const total = rate * seconds;
  for (let n = 0; n < total; n++) {
    const due = began + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(one(bodies[i++ % bodies.length]));
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { p50: pct(50), p99: pct(99), errors };
}

/// Sequential GETs of a page: p50 in ms.
async function pageTimes(url, n) {
  const times = [];
  for (let k = 0; k < n; k++) {
    const t0 = performance.now();
    const r = await fetch(url);
    await r.text();
    if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(n / 2)], max: times[n - 1] };
}

/// JSON with object keys in order, so that answers compare by content.
const canon = (v) => JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const rows = [];
const notes = [];

function timed(label, f) {
  const t0 = performance.now();
  const out = f();
  const s = (performance.now() - t0) / 1000;
  console.log(`${label}: ${s.toFixed(1)} s`);
  return { out, s };
}

function printTables() {
  const cell = (r) => `${fmt(r.rps)} | ${fmt(r.p50, 2)} / ${fmt(r.p99, 2)} | ${fmt(r.cpuMs, 2)}`;
  console.log(`\nozg-registry vs PostGraphile 4.14 (--cluster-workers 2) and 5 (V4 preset, 2 processes), same PostgreSQL database;`);
  console.log(`ozg-registry also on SQLite with the same generated data. wrk -t2 -c${connections}, ${duration} s x ${rounds} interleaved rounds, best round shown.`);
  console.log('Columns per server: req/s | p50 / p99 ms | server CPU ms per request. "best peer" is the faster PostGraphile of the two.\n');
  console.log(`| projects | query | ozg (PostgreSQL) req/s | p50 / p99 | CPU | ${PEERS[0]} req/s | p50 / p99 | CPU | ${PEERS[1]} req/s | p50 / p99 | CPU | ozg (SQLite) req/s | p50 / p99 | CPU | ratio req/s vs best peer | ratio CPU/req vs best peer | SQLite ratio req/s | errors (all servers) |`);
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const errors = [r.ozg, ...r.peers, r.lite].reduce((n, x) => n + x.errors, 0);
    console.log(`| ${r.size} | ${r.query} | ${cell(r.ozg)} | ${cell(r.peers[0])} | ${cell(r.peers[1])} | ${cell(r.lite)} | ${fmt(r.ozg.rps / r.peer.rps, 2)}x | ${fmt(r.ozg.cpuMs / r.peer.cpuMs, 2)} | ${fmt(r.lite.rps / r.peer.rps, 2)}x | ${errors} |`);
  }
  console.log('\nSQL statements per request of ozg-registry (PostgreSQL / SQLite), most over the checked variables, warm:\n');
  console.log(`| query | ${sizes.map((n) => `${n} projects`).join(' | ')} |`);
  console.log(`|---|${sizes.map(() => '---').join('|')}|`);
  for (const name of [...new Set(rows.map((r) => r.query))]) {
    console.log(`| ${name} | ${sizes.map((n) => rows.find((r) => r.size === n && r.query === name)?.statements ?? '-').join(' | ')} |`);
  }
  console.log('\nQ3 at a fixed 150 req/s (p50 / p99 ms), and peak resident memory (MB) over the whole run of each size:\n');
  console.log(`| projects | ozg (PostgreSQL) | ${PEERS[0]} | ${PEERS[1]} | ozg (SQLite) | peak MB ozg / PG4 / PG5 / ozg SQLite |`);
  console.log('|---|---|---|---|---|---|');
  for (const r of rows.filter((r) => r.query.startsWith('Q3'))) {
    const f = (x) => (x.fixed ? `${fmt(x.fixed.p50, 2)} / ${fmt(x.fixed.p99, 2)}${x.fixed.errors ? ` (${x.fixed.errors} errors)` : ''}` : '-');
    console.log(`| ${r.size} | ${f(r.ozg)} | ${f(r.peers[0])} | ${f(r.peers[1])} | ${f(r.lite)} | ${[r.ozg, ...r.peers, r.lite].map((x) => fmt(x.peak)).join(' / ')} |`);
  }
  console.log('');
  for (const n of notes) console.log(`- ${n}`);
}

for (const size of sizes) {
  const scale = scaleOf[size];
  if (!scale) throw new Error(`size ${size}: one of 1000, 10000, 100000`);
  console.log(`\n== ${size} projects: loading (${scale})`);
  psql('DROP DATABASE IF EXISTS ozg_bench WITH (FORCE)');
  psql('CREATE DATABASE ozg_bench');
  const sqlite = join(work, `bench-${size}.db`);
  const quiet = { env: { ...process.env, RUST_LOG: 'error' }, cwd: root };
  const genPg = timed('generate on PostgreSQL', () => execFileSync(bin, ['--database-url', dbUrl, 'generate', '--scale', scale], quiet).toString().trim());
  console.log(genPg.out);
  const genSqlite = timed('generate on SQLite', () => execFileSync(bin, ['--database-url', sqlite, 'generate', '--scale', scale], quiet).toString().trim());
  notes.push(`${size} projects: generate took ${genPg.s.toFixed(1)} s on PostgreSQL and ${genSqlite.s.toFixed(1)} s on SQLite (${genPg.out.split('\n').pop()})`);
  psql('VACUUM ANALYZE', dbUrl);
  const token = (url) => 'Bearer ' + execFileSync(bin, ['--database-url', url, 'token', 'issue', '--role', 'admin', '--subject', 'bench', '--ttl', '1d'], { ...quiet, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  const ozgEnv = { RUST_LOG: 'error', OZG_REGISTRY_RATE_LIMIT_ADDRESS: 'off', OZG_REGISTRY_RATE_LIMIT_TOKEN: 'off', OZG_REGISTRY_SYNC_INTERVAL_SECS: '0',
    OZG_REGISTRY_QUERY_COUNT_HEADER: 'on' };
  const servers = [
    { name: OZG, url: 'http://127.0.0.1:18110/graphql', auth: token(dbUrl),
      child: start(OZG, bin, ['--database-url', dbUrl, 'serve', '--listen', '127.0.0.1:18110', '--no-seed', '--workers', '2'], ozgEnv) },
    { name: OZG_SQLITE, url: 'http://127.0.0.1:18112/graphql', auth: token(sqlite),
      child: start(OZG_SQLITE, bin, ['--database-url', sqlite, 'serve', '--listen', '127.0.0.1:18112', '--no-seed', '--workers', '2'], ozgEnv) },
    { name: PEERS[0], url: 'http://127.0.0.1:18111/graphql', peer: true,
      child: start(PEERS[0], process.execPath, [join(here, 'node_modules/postgraphile/cli.js'), '-c', dbUrl, '--host', '127.0.0.1', '--port', '18111',
        '--cluster-workers', '2', '--disable-query-log', '--disable-graphiql'], {}) },
    { name: PEERS[1], url: 'http://127.0.0.1:18113/graphql', peer: true,
      child: start(PEERS[1], node22, [join(here, 'v5/server.mjs'), dbUrl, '18113', '2'], {}) },
  ];
  try {
    for (const s of servers) await ready(s);
    const qs = queries(size).filter((q) => !only || only.some((o) => q.name.startsWith(o)));
    // PostGraphile creates by project id; look the ids up once.
    const slugs = [...new Set(qs.filter((q) => q.write).flatMap((q) => q.variables.map((v) => v.s)))];
    const ids = slugs.length === 0 ? {} : Object.fromEntries(psql(`SELECT slug || ' ' || id FROM projects WHERE slug IN (${slugs.map((x) => `'${x}'`).join(',')})`, dbUrl)
      .trim().split('\n').map((l) => l.split(' ')));
    const varsFor = (s, q, v) => (s.peer && q.write ? { p: Number(ids[v.s]), t: v.t } : v);
    // Same answers first (the first server's answer is the reference). ozg-registry's statements
    // per request are noted (warm: each query asked twice, the most of the second asks).
    const statements = {};
    for (const q of qs) {
      for (const [k, v0] of q.variables.slice(0, 6).entries()) {
        let reference = null;
        for (const s of servers) {
          const v = q.write ? { ...v0, t: v0.t.replace('__N__', `check-${k}-${s.name.replace(/\W/g, '')}`) } : v0;
          const a = await post(s, s.peer ? q.peer : q.ozg, varsFor(s, q, v));
          if (!s.peer && !q.write) {
            const again = await post(s, q.ozg, v);
            const key = `${q.name}|${s.name}`;
            statements[key] = Math.max(statements[key] ?? 0, again.statements);
          }
          if (a.errors) throw new Error(`${q.name} ${s.name} ${JSON.stringify(v)}: errors ${JSON.stringify(a.errors)}`);
          let n = (s.peer ? q.norm.peer : q.norm.ozg)(a.data);
          if (q.write) n = { ...n, title: n.title.replace(/check-\d+-\w+/, '') };
          const c = canon(n);
          reference ??= c;
          if (c !== reference) throw new Error(`${q.name} ${JSON.stringify(v)}: the answers differ\n${servers[0].name}: ${reference.slice(0, 600)}\n${s.name}: ${c.slice(0, 600)}`);
        }
      }
      console.log(`${q.name}: same answers from all ${servers.length}`);
    }
    // The rendered newsletter of the Themenfeld with the most projects, from ozg-registry (before
    // the writes of Q4 add milestones to some projects).
    const topic = psql(`SELECT o.topic_field_slug FROM project_services ps JOIN ozg_services o ON o.ozg_id = ps.ozg_id
      GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`, dbUrl).trim();
    for (const s of servers.filter((s) => !s.peer)) {
      const t = await pageTimes(s.url.replace(/\/graphql$/, `/newsletter/${topic}`), 20);
      notes.push(`${size} projects: newsletter page /newsletter/${topic} from ${s.name}: p50 ${fmt(t.p50, 1)} ms, max ${fmt(t.max, 1)} ms (20 sequential requests)`);
    }
    const results = new Map();
    for (let round = 0; round < rounds; round++) {
      for (const q of qs) {
        for (const s of round % 2 ? [...servers].reverse() : servers) {
          const bodies = q.variables.map((v) => JSON.stringify({ query: s.peer ? q.peer : q.ozg, variables: varsFor(s, q, v) }));
          const before = usage(s.child.pid);
          const r = wrk(s, bodies);
          const after = usage(s.child.pid);
          r.cpuMs = ((after.cpu - before.cpu) * 1000) / Math.max(1, r.requests);
          const key = `${q.name}|${s.name}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          console.log(`round ${round + 1} ${q.name} ${s.name}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, ${r.errors} errors, ${fmt(r.cpuMs, 2)} ms CPU/req`);
        }
      }
    }
    // Q3 at a fixed 150 requests/s: latency when not saturated.
    const q3 = qs.find((q) => q.name.startsWith('Q3'));
    const fixed = {};
    if (q3) {
      for (const s of servers) {
        const bodies = q3.variables.map((v) => JSON.stringify({ query: s.peer ? q3.peer : q3.ozg, variables: v }));
        fixed[s.name] = await fixedRate(s, bodies, 150, duration);
        console.log(`Q3 at 150 req/s ${s.name}: p50 ${fmt(fixed[s.name].p50, 2)} ms, p99 ${fmt(fixed[s.name].p99, 2)} ms, ${fixed[s.name].errors} errors`);
      }
    }
    const peaks = Object.fromEntries(servers.map((s) => [s.name, usage(s.child.pid).peak]));
    for (const q of qs) {
      const best = (name) => {
        const rs = results.get(`${q.name}|${name}`);
        const top = rs.reduce((a, b) => (b.rps > a.rps ? b : a));
        return { ...top, errors: rs.reduce((n, r) => n + r.errors, 0), name, peak: peaks[name], fixed: q === q3 ? fixed[name] : null };
      };
      const peers = PEERS.map(best);
      const peer = peers.reduce((a, b) => (b.rps > a.rps ? b : a));
      rows.push({ size, query: q.name, ozg: best(OZG), lite: best(OZG_SQLITE), peers, peer,
        statements: [OZG, OZG_SQLITE].map((n) => statements[`${q.name}|${n}`] ?? '-').join(' / ') });
    }
  } finally {
    for (const s of servers) stop(s.child);
    await sleep(500);
  }
  printTables();
}

const failed = rows.some((r) => [r.ozg, r.lite, ...r.peers].some((x) => x.errors > 0 || (x.fixed && x.fixed.errors > 0)));
process.exit(failed ? 1 : 0);
