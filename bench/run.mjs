// The side-by-side benchmark: ozg-registry and PostGraphile on the same PostgreSQL database and the
// same generated data, checked for equal answers, then driven by wrk in interleaved rounds.
// Started by ./run (which installs wrk, PostGraphile and builds the release binary).
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
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
const admin = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbUrl = admin.replace(/\/[^/]*$/, '/ozg_bench');
const scaleOf = { 1000: 'small', 10000: 'medium', 100000: 'nationwide' };
const work = mkdtempSync(join(tmpdir(), 'ozg-bench-'));
const bin = join(root, 'target/release/ozg-registry');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const psql = (sql) => execFileSync('psql', [admin, '-qAtc', sql], { stdio: ['ignore', 'pipe', 'inherit'] }).toString();

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

async function post(url, query, variables) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return r.json();
}

async function ready(url) {
  for (let i = 0; i < 300; i++) {
    try {
      const v = await post(url, '{ __typename }', {});
      if (v.data) return;
    } catch { /* not yet */ }
    await sleep(200);
  }
  throw new Error(`${url} did not start`);
}

function wrk(url, bodies) {
  const file = join(work, 'bodies.txt');
  writeFileSync(file, bodies.join('\n') + '\n');
  const out = execFileSync('wrk', ['-t2', `-c${connections}`, `-d${duration}s`, '--latency', '-s', join(here, 'wrk.lua'), url.replace(/\/graphql$/, '')], {
    env: { ...process.env, BODIES_FILE: file },
  }).toString();
  const m = out.match(/RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/);
  if (!m) throw new Error(`wrk printed no result:\n${out}`);
  const [, requests, seconds, p50, p99, errors] = m.map(Number);
  return { requests, rps: requests / seconds, p50, p99, errors };
}

/// JSON with object keys in order, so that answers compare by content.
const canon = (v) => JSON.stringify(v, (k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const rows = [];

for (const size of sizes) {
  const scale = scaleOf[size];
  if (!scale) throw new Error(`size ${size}: one of 1000, 10000, 100000`);
  console.log(`\n== ${size} projects: loading (${scale})`);
  psql('DROP DATABASE IF EXISTS ozg_bench WITH (FORCE)');
  psql('CREATE DATABASE ozg_bench');
  const gen = execFileSync(bin, ['--database-url', dbUrl, 'generate', '--scale', scale], { env: { ...process.env, RUST_LOG: 'error' }, cwd: root }).toString().trim();
  console.log(gen);
  const ozg = start('ozg-registry', bin, ['--database-url', dbUrl, 'serve', '--listen', '127.0.0.1:18110', '--no-seed', '--workers', '2'], {
    RUST_LOG: 'error', OZG_REGISTRY_RATE_LIMIT_ADDRESS: 'off', OZG_REGISTRY_RATE_LIMIT_TOKEN: 'off', OZG_REGISTRY_SYNC_INTERVAL_SECS: '0',
  });
  const peer = start('PostGraphile', process.execPath, [join(here, 'node_modules/postgraphile/cli.js'), '-c', dbUrl, '--host', '127.0.0.1', '--port', '18111',
    '--cluster-workers', '2', '--disable-query-log', '--disable-graphiql'], {});
  const servers = [['ozg-registry', 'http://127.0.0.1:18110/graphql', ozg], ['PostGraphile 4', 'http://127.0.0.1:18111/graphql', peer]];
  try {
    for (const [, url] of servers) await ready(url);
    const qs = queries(size);
    // Same answers first.
    for (const q of qs) {
      for (const v of q.variables.slice(0, 6)) {
        const a = await post(servers[0][1], q.ozg, v);
        const b = await post(servers[1][1], q.peer, v);
        if (a.errors || b.errors) throw new Error(`${q.name} ${JSON.stringify(v)}: errors ${JSON.stringify(a.errors ?? b.errors)}`);
        const [na, nb] = [canon(q.norm.ozg(a.data)), canon(q.norm.peer(b.data))];
        if (na !== nb) throw new Error(`${q.name} ${JSON.stringify(v)}: the answers differ\nozg:  ${na.slice(0, 600)}\npeer: ${nb.slice(0, 600)}`);
      }
      console.log(`${q.name}: same answers`);
    }
    const results = new Map();
    for (let round = 0; round < rounds; round++) {
      for (const q of qs) {
        for (const [name, url, child] of round % 2 ? [...servers].reverse() : servers) {
          const query = name === 'ozg-registry' ? q.ozg : q.peer;
          const bodies = q.variables.map((v) => JSON.stringify({ query, variables: v }));
          const before = usage(child.pid);
          const r = wrk(url, bodies);
          const after = usage(child.pid);
          r.cpuMs = ((after.cpu - before.cpu) * 1000) / Math.max(1, r.requests);
          const key = `${q.name}|${name}`;
          const all = results.get(key) ?? [];
          all.push(r);
          results.set(key, all);
          console.log(`round ${round + 1} ${q.name} ${name}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, ${r.errors} errors, ${fmt(r.cpuMs, 2)} ms CPU/req`);
        }
      }
    }
    const peaks = Object.fromEntries(servers.map(([name, , child]) => [name, usage(child.pid).peak]));
    for (const q of qs) {
      const best = (name) => {
        const rs = results.get(`${q.name}|${name}`);
        const top = rs.reduce((a, b) => (b.rps > a.rps ? b : a));
        return { ...top, errors: rs.reduce((n, r) => n + r.errors, 0) };
      };
      const a = best('ozg-registry');
      const b = best('PostGraphile 4');
      rows.push({ size, query: q.name, a, b, peakA: peaks['ozg-registry'], peakB: peaks['PostGraphile 4'] });
    }
  } finally {
    for (const [, , child] of servers) stop(child);
    await sleep(500);
  }
}

console.log(`\nozg-registry vs PostGraphile 4.14 (--cluster-workers 2), same PostgreSQL database, wrk -t2 -c${connections}, ${duration} s x ${rounds} interleaved rounds (best round shown)\n`);
console.log('| projects | query | ozg req/s | ozg p50 ms | ozg p99 ms | ozg errors | ozg CPU ms/req | peer req/s | peer p50 ms | peer p99 ms | peer errors | peer CPU ms/req | ratio req/s | ratio CPU/req | peak MB ozg / peer |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.size} | ${r.query} | ${fmt(r.a.rps)} | ${fmt(r.a.p50, 2)} | ${fmt(r.a.p99, 2)} | ${r.a.errors} | ${fmt(r.a.cpuMs, 2)} | ${fmt(r.b.rps)} | ${fmt(r.b.p50, 2)} | ${fmt(r.b.p99, 2)} | ${r.b.errors} | ${fmt(r.b.cpuMs, 2)} | ${fmt(r.a.rps / r.b.rps, 2)}x | ${fmt(r.a.cpuMs / r.b.cpuMs, 2)} | ${fmt(r.peakA)} / ${fmt(r.peakB)} |`);
}
const failed = rows.some((r) => r.a.errors > 0 || r.b.errors > 0);
process.exit(failed ? 1 : 0);
