// Runs ONNX models in ONNX Runtime (onnxruntime-node, CPU, one intra-op and one inter-op thread) on
// the inputs of an ONNX backend-test data folder and checks the outputs against the folder's
// expected outputs (|a - e| <= atol + rtol * |e|).
//
//   node ort_run.js MODEL.onnx DATA_DIR [--opt disabled|basic|extended|all] [--runs N] [--warmup N] [--rtol R] [--atol A]
//     one model at one level: median of N runs after warm-up. Prints one JSON object:
//     {"model", "opt", "median_ms", "runs", "max_abs_err", "max_rel_err", "ok"}.
//
//   node ort_run.js MODEL.onnx DATA_DIR --vs OTHER.onnx [--levels disabled,extended,all] [--rounds N]
//                   [--warmup N] [--sample-ms T] [--profile-runs N] [--profile-dir DIR] [--rtol R] [--atol A]
//     MODEL against OTHER, interleaved in this one process so that load from other processes on the
//     machine falls on both alike. A session per model and level is created up front and warmed up
//     (N runs each, 3 by default). Then each round times, for every level, MODEL and OTHER back to
//     back, in alternating order (MODEL first in even rounds, OTHER first in odd ones). One sample
//     is the mean of k consecutive runs, k chosen in warm-up so that a sample of MODEL takes about
//     T ms (2 by default; k = 1 for models slower than that), which keeps sub-millisecond models
//     out of the timer's and the event loop's noise. With --profile-runs N (> 0), each model is
//     then also run N more times at level "disabled" in sessions with ORT's profiler on (interleaved
//     the same way), and the kernel time per op type is reported (per run; the median over the N
//     runs, warm-up excluded; If/Loop/Scan nodes are left out, their bodies' nodes are counted). Prints one JSON
//     object with, per level, each model's sample times and their median and p90, the median of the
//     per-round ratios OTHER/MODEL with its p10 and p90, and the output check of both models.
//
//   node ort_run.js MODEL.onnx DATA_DIR --shapes 1
//     prints the inputs' shapes as eqopt options ("--input-shape x=1x3x224x224 ...").
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');

// ---- a minimal reader of serialized onnx.TensorProto (the fields the test data uses)
function readVarint(buf, pos) {
  let result = 0n, shift = 0n;
  for (;;) {
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}
const TYPES = {1: ['float32', Float32Array, 4], 6: ['int32', Int32Array, 4], 7: ['int64', BigInt64Array, 8],
               9: ['bool', Uint8Array, 1], 11: ['float64', Float64Array, 8], 2: ['uint8', Uint8Array, 1],
               3: ['int8', Int8Array, 1]};
function readTensorProto(file) {
  const buf = fs.readFileSync(file);
  const dims = [];
  let dataType = 0, name = '', raw = null;
  const floats = [], int64s = [], int32s = [], doubles = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      if (field === 1) dims.push(Number(BigInt.asIntN(64, v)));
      else if (field === 2) dataType = Number(v);
      else if (field === 5) int32s.push(Number(BigInt.asIntN(32, v)));
      else if (field === 7) int64s.push(BigInt.asIntN(64, v));
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const body = buf.subarray(pos, pos + Number(len));
      pos += Number(len);
      if (field === 8) name = body.toString('utf8');
      else if (field === 9) raw = body;
      else if (field === 1) for (let p = 0; p < body.length;) { let v; [v, p] = readVarint(body, p); dims.push(Number(v)); }
      else if (field === 4) for (let p = 0; p < body.length; p += 4) floats.push(body.readFloatLE(p));
      else if (field === 7) for (let p = 0; p < body.length;) { let v; [v, p] = readVarint(body, p); int64s.push(BigInt.asIntN(64, v)); }
      else if (field === 5) for (let p = 0; p < body.length;) { let v; [v, p] = readVarint(body, p); int32s.push(Number(BigInt.asIntN(32, v))); }
      else if (field === 10) for (let p = 0; p < body.length; p += 8) doubles.push(body.readDoubleLE(p));
    } else if (wire === 5) {
      if (field === 4) floats.push(buf.readFloatLE(pos));
      pos += 4;
    } else if (wire === 1) {
      if (field === 10) doubles.push(buf.readDoubleLE(pos));
      pos += 8;
    } else {
      throw new Error(`${file}: unsupported protobuf wire type ${wire}`);
    }
  }
  const t = TYPES[dataType];
  if (!t) throw new Error(`${file}: unsupported tensor data type ${dataType}`);
  const [type, Ctor, size] = t;
  let data;
  if (raw) {
    const copy = Buffer.from(raw);  // aligned copy
    data = new Ctor(copy.buffer, copy.byteOffset, copy.length / size);
  } else if (dataType === 1) data = Float32Array.from(floats);
  else if (dataType === 7) data = BigInt64Array.from(int64s);
  else if (dataType === 11) data = Float64Array.from(doubles);
  else data = Ctor.from(int32s);
  if (type === 'bool') data = Uint8Array.from(data, (x) => (x ? 1 : 0));
  return {name, tensor: new ort.Tensor(type, data, dims)};
}

function numbered(dir, stem) {
  const out = [];
  for (let i = 0; fs.existsSync(path.join(dir, `${stem}_${i}.pb`)); ++i) out.push(path.join(dir, `${stem}_${i}.pb`));
  return out;
}

const LEVELS = ['disabled', 'basic', 'extended', 'all'];

function createSession(model, level, extra = {}) {
  if (!LEVELS.includes(level)) throw new Error(`unknown optimization level '${level}' (${LEVELS.join(', ')})`);
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: level, ...extra,
  });
}

function feedsFor(session, set) {
  const feeds = {};
  numbered(set, 'input').forEach((f, i) => {
    const {name, tensor} = readTensorProto(f);
    feeds[session.inputNames.includes(name) ? name : session.inputNames[i]] = tensor;
  });
  return feeds;
}

// Compares a run's outputs with the data set's expected outputs.
function checkOutputs(session, result, set, rtol, atol) {
  let maxAbs = 0, maxRel = 0, ok = true;
  numbered(set, 'output').forEach((f, k) => {
    const expected = readTensorProto(f).tensor;
    const actual = result[session.outputNames[k]];
    if (!actual || actual.dims.join(',') !== expected.dims.join(',')) {
      ok = false;
      return;
    }
    const a = actual.data, e = expected.data;
    for (let i = 0; i < e.length; ++i) {
      const x = Number(a[i]), y = Number(e[i]);
      const d = Math.abs(x - y);
      if (Number.isNaN(x) !== Number.isNaN(y)) ok = false;
      if (Number.isNaN(d)) continue;
      maxAbs = Math.max(maxAbs, d);
      if (y !== 0) maxRel = Math.max(maxRel, d / Math.abs(y));
      if (d > atol + rtol * Math.abs(y)) ok = false;
    }
  });
  return {max_abs_err: maxAbs, max_rel_err: maxRel, ok};
}

// The q-quantile (0..1) of a list of numbers, nearest rank.
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
const median = (xs) => quantile(xs, 0.5);

async function timeRuns(session, feeds, k) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < k; ++i) await session.run(feeds);
  return Number(process.hrtime.bigint() - t0) / 1e6 / k;
}

async function single(model, set, opts) {
  const session = await createSession(model, opts.opt);
  const feeds = feedsFor(session, set);
  if (opts.shapes) {
    console.log(Object.entries(feeds).map(([n, t]) => `--input-shape ${n}=${t.dims.length ? t.dims.join('x') : 'scalar'}`).join(' '));
    return;
  }
  for (let i = 0; i < Number(opts.warmup); ++i) await session.run(feeds);
  const times = [];
  let result;
  for (let i = 0; i < Number(opts.runs); ++i) {
    const t0 = process.hrtime.bigint();
    result = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const check = checkOutputs(session, result, set, Number(opts.rtol), Number(opts.atol));
  console.log(JSON.stringify({model, opt: opts.opt, median_ms: median(times), runs: times.length, ...check}));
}

const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);

// Kernel time per op type (ms per run) from an ORT profile: of the last `runs` model runs, the
// median over runs of each op type's summed kernel time in that run (a run preempted by another
// process moves the mean, not the median).
function kernelTimeByOp(profileFile, runs) {
  const events = JSON.parse(fs.readFileSync(profileFile, 'utf8'));
  const counted = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts).slice(-runs);
  if (counted.length === 0) throw new Error(`${profileFile}: no model_run events`);
  const perRun = counted.map(() => ({}));
  for (const e of events) {
    // If/Loop/Scan events span their bodies' nodes, which have events of their own.
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || CONTROL_FLOW.has(e.args && e.args.op_name)) continue;
    const i = counted.findIndex((r) => e.ts >= r.ts && e.ts <= r.ts + r.dur);
    if (i < 0) continue;
    const op = (e.args && e.args.op_name) || 'unknown';
    perRun[i][op] = (perRun[i][op] || 0) + e.dur / 1000;
  }
  const ops = new Set(perRun.flatMap((r) => Object.keys(r)));
  const byOp = {};
  for (const op of ops) byOp[op] = median(perRun.map((r) => r[op] || 0));
  return {ms_by_op: byOp, runs: counted.length, run_ms: median(counted.map((e) => e.dur / 1000))};
}

// Profiles MODEL and OTHER at level "disabled", interleaved like the timing (alternating order).
async function profilePair(model, other, set, runs, warmup, dir) {
  const sessions = [];
  for (const [i, file] of [model, other].entries()) {
    const prefix = path.join(dir, `profile-${process.pid}-${i}`);
    const session = await createSession(file, 'disabled', {enableProfiling: true, profileFilePrefix: prefix});
    sessions.push({session, prefix, feeds: feedsFor(session, set)});
  }
  for (const s of sessions) for (let i = 0; i < warmup; ++i) await s.session.run(s.feeds);
  for (let r = 0; r < runs; ++r) {
    for (const s of r % 2 === 0 ? sessions : [...sessions].reverse()) await s.session.run(s.feeds);
  }
  return sessions.map((s) => {
    s.session.endProfiling();
    const file = fs.readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.startsWith(s.prefix) && f.endsWith('.json'));
    if (!file) throw new Error(`ORT wrote no profile under ${s.prefix}`);
    const result = kernelTimeByOp(file, runs);
    fs.unlinkSync(file);
    return result;
  });
}

async function compare(model, other, set, opts) {
  const levels = String(opts.levels).split(',');
  const rounds = Number(opts.rounds), warmup = Number(opts.warmup), rtol = Number(opts.rtol), atol = Number(opts.atol);
  if (!(rounds >= 1) || !(warmup >= 1)) throw new Error('--rounds and --warmup must be at least 1');
  const pairs = [];
  for (const level of levels) {
    const a = await createSession(model, level), b = await createSession(other, level);
    const feeds = feedsFor(a, set);
    // Warm-up, the output check of both models, and the number of runs per sample.
    const warm = [];
    let ra, rb;
    for (let i = 0; i < warmup; ++i) {
      const t0 = process.hrtime.bigint();
      ra = await a.run(feeds);
      warm.push(Number(process.hrtime.bigint() - t0) / 1e6);
      rb = await b.run(feeds);
    }
    const k = Math.max(1, Math.min(1000, Math.round(Number(opts['sample-ms']) / median(warm))));
    pairs.push({level, a, b, feeds, k, ta: [], tb: [], check: {original: checkOutputs(a, ra, set, rtol, atol),
                                                                 other: checkOutputs(b, rb, set, rtol, atol)}});
  }
  for (let r = 0; r < rounds; ++r) {
    for (const p of pairs) {
      if (r % 2 === 0) {
        p.ta.push(await timeRuns(p.a, p.feeds, p.k));
        p.tb.push(await timeRuns(p.b, p.feeds, p.k));
      } else {
        p.tb.push(await timeRuns(p.b, p.feeds, p.k));
        p.ta.push(await timeRuns(p.a, p.feeds, p.k));
      }
    }
  }
  const out = {model, other, rounds, warmup, levels: {}};
  for (const p of pairs) {
    const ratios = p.ta.map((t, i) => p.tb[i] / t);
    out.levels[p.level] = {
      runs_per_sample: p.k,
      original: {median_ms: median(p.ta), p90_ms: quantile(p.ta, 0.9), samples_ms: p.ta},
      other: {median_ms: median(p.tb), p90_ms: quantile(p.tb, 0.9), samples_ms: p.tb},
      ratio: median(p.tb) / median(p.ta),
      paired_ratio: {median: median(ratios), p10: quantile(ratios, 0.1), p90: quantile(ratios, 0.9)},
      check: p.check,
    };
    await p.a.release();
    await p.b.release();
  }
  const profileRuns = Number(opts['profile-runs']);
  if (profileRuns > 0) {
    const dir = opts['profile-dir'] || fs.mkdtempSync(path.join(os.tmpdir(), 'ort-profile-'));
    const [original, second] = await profilePair(model, other, set, profileRuns, warmup, dir);
    out.profile = {level: 'disabled', original, other: second};
    if (!opts['profile-dir']) fs.rmSync(dir, {recursive: true, force: true});
  }
  console.log(JSON.stringify(out));
}

async function main() {
  const args = process.argv.slice(2);
  const opts = {opt: 'disabled', runs: 20, warmup: 3, rtol: 1e-3, atol: 1e-4, levels: 'disabled,extended,all', rounds: 20,
                'sample-ms': 2, 'profile-runs': 0};
  const positional = [];
  for (let i = 0; i < args.length; ++i) {
    if (args[i].startsWith('--')) {
      if (i + 1 >= args.length) throw new Error(`${args[i]} needs a value`);
      opts[args[i].slice(2)] = args[++i];
    } else {
      positional.push(args[i]);
    }
  }
  if (positional.length !== 2) {
    console.error('usage: node ort_run.js MODEL.onnx DATA_DIR [--opt LEVEL] [--runs N] [--warmup N] | --vs OTHER.onnx ' +
                  '[--levels L,L] [--rounds N] [--sample-ms T] [--profile-runs N] | --shapes 1');
    process.exit(2);
  }
  const [model, dataDir] = positional;
  const set = fs.existsSync(path.join(dataDir, 'test_data_set_0')) ? path.join(dataDir, 'test_data_set_0') : dataDir;
  if (!fs.existsSync(path.join(set, 'input_0.pb'))) throw new Error(`${dataDir}: no input_0.pb (ONNX backend-test layout)`);
  if (opts.vs) await compare(model, opts.vs, set, opts);
  else await single(model, set, opts);
}
if (require.main === module) {
  main().catch((e) => {
    console.error(`ort_run: ${String(e.message).split('\n')[0]}`);
    process.exit(2);
  });
} else {
  module.exports = {createSession, feedsFor, checkOutputs, quantile, timeRuns, readTensorProto};
}
