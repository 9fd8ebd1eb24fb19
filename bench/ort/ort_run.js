// Runs one ONNX model in ONNX Runtime (onnxruntime-node, CPU, one thread) on the inputs of an ONNX
// backend-test data folder, checks the outputs against the folder's expected outputs, and times
// the run: median of N runs after warm-up.
//
//   node ort_run.js MODEL.onnx DATA_DIR [--opt disabled|basic|extended|all] [--runs N] [--warmup N] [--rtol R] [--atol A]
//   node ort_run.js MODEL.onnx DATA_DIR --shapes 1
//
// With --shapes it only prints the inputs' shapes as eqopt options ("--input-shape x=1x3x224x224 ...").
// Prints one JSON object: {"model", "opt", "median_ms", "runs", "max_abs_err", "max_rel_err", "ok"}.
'use strict';
const fs = require('fs');
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

async function main() {
  const args = process.argv.slice(2);
  const opts = {opt: 'disabled', runs: 20, warmup: 3, rtol: 1e-3, atol: 1e-4};
  const positional = [];
  for (let i = 0; i < args.length; ++i) {
    if (args[i].startsWith('--')) opts[args[i].slice(2)] = args[++i];
    else positional.push(args[i]);
  }
  if (positional.length !== 2) {
    console.error('usage: node ort_run.js MODEL.onnx DATA_DIR [--opt disabled|basic|extended|all] [--runs N] [--warmup N]');
    process.exit(2);
  }
  const [model, dataDir] = positional;
  const set = fs.existsSync(path.join(dataDir, 'test_data_set_0')) ? path.join(dataDir, 'test_data_set_0') : dataDir;
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: ['disabled', 'basic', 'extended', 'all'].includes(opts.opt) ? opts.opt : 'disabled',
  });
  const feeds = {};
  numbered(set, 'input').forEach((f, i) => {
    const {name, tensor} = readTensorProto(f);
    feeds[session.inputNames.includes(name) ? name : session.inputNames[i]] = tensor;
  });
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
  times.sort((a, b) => a - b);
  let maxAbs = 0, maxRel = 0, ok = true;
  numbered(set, 'output').forEach((f, k) => {
    const expected = readTensorProto(f).tensor;
    const actual = result[session.outputNames[k]];
    if (actual.dims.join(',') !== expected.dims.join(',')) ok = false;
    const a = actual.data, e = expected.data;
    for (let i = 0; i < e.length; ++i) {
      const x = Number(a[i]), y = Number(e[i]);
      const d = Math.abs(x - y);
      if (Number.isNaN(x) !== Number.isNaN(y)) ok = false;
      if (Number.isNaN(d)) continue;
      maxAbs = Math.max(maxAbs, d);
      if (y !== 0) maxRel = Math.max(maxRel, d / Math.abs(y));
      if (d > Number(opts.atol) + Number(opts.rtol) * Math.abs(y)) ok = false;
    }
  });
  console.log(JSON.stringify({model, opt: opts.opt, median_ms: times[times.length >> 1], runs: times.length,
                              max_abs_err: maxAbs, max_rel_err: maxRel, ok}));
}
main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(2);
});
