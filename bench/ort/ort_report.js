// Markdown report of bench/ort_compare.sh (its header says what is compared).
//
//   node ort_report.js DIR MODEL.onnx...
//
// Reads, per model stem B, DIR/B.ort.json (ort_run.js --vs), DIR/B.report.json (eqopt optimize
// --json), DIR/B.est-original.json and DIR/B.est-eqopt.json (eqopt info --target cpu --json).
// Exit code 1 when ORT does not reproduce a model's reference outputs from eqopt's output.
'use strict';
const fs = require('fs');
const path = require('path');

const LEVELS = ['disabled', 'extended', 'all'];
const SLOWER = 1.02;        // a ratio above this is "slower"
const DISAGREE = 0.10;      // measured vs estimated ratio
const CLASS_POINTS = 0.03;  // a class's share of the difference that counts as off

// The cpu cost model's op classes (CostModel::op_class in targets/cost_model.cpp), for the
// default-domain ops ORT reports; ops not listed are "other", Reduce* and ArgMax/ArgMin "reduction".
const CLASSES = {
  conv: 'Conv ConvTranspose ConvInteger QLinearConv',
  matmul: 'MatMul Gemm MatMulInteger QLinearMatMul Einsum',
  activation: 'Relu LeakyRelu Clip Sigmoid Tanh HardSigmoid HardSwish Elu Selu Celu Gelu Mish Softplus Softsign PRelu ' +
              'ThresholdedRelu',
  normalization: 'BatchNormalization LayerNormalization InstanceNormalization GroupNormalization LpNormalization ' +
                 'MeanVarianceNormalization',
  pooling: 'MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool GlobalLpPool MaxRoiPool RoiAlign',
  softmax: 'Softmax LogSoftmax Hardmax',
  data: 'Transpose Concat Split Slice Gather GatherElements GatherND Pad Tile Expand Resize Upsample DepthToSpace ' +
        'SpaceToDepth Reshape Flatten Squeeze Unsqueeze Identity Shape Size ScatterND ScatterElements Compress ' +
        'ConstantOfShape Range ReverseSequence OneHot Trilu CenterCropPad',
  elementwise: 'Add Sub Mul Div Pow Sqrt Exp Log Neg Abs Reciprocal Max Min Sum Mean Where Equal Less Greater ' +
               'LessOrEqual GreaterOrEqual Not And Or Xor Cast CastLike Floor Ceil Round Sign Erf Sin Cos Tan Asin ' +
               'Acos Atan Sinh Cosh Asinh Acosh Atanh IsNaN IsInf Mod BitShift BitwiseAnd BitwiseOr BitwiseXor ' +
               'BitwiseNot QuantizeLinear DequantizeLinear DynamicQuantizeLinear',
};
const CLASS_OF = {};
for (const [cls, ops] of Object.entries(CLASSES)) for (const op of ops.split(' ')) CLASS_OF[op] = cls;
function opClass(op) {
  if (CLASS_OF[op]) return CLASS_OF[op];
  if (op.startsWith('Reduce') || op === 'ArgMax' || op === 'ArgMin') return 'reduction';
  return 'other';
}

const f2 = (x) => x.toFixed(x < 1 ? 3 : 2);
const r2 = (x) => x.toFixed(2);
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const geomean = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const signedPoints = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

function load(dir, model) {
  const b = path.basename(model, '.onnx');
  const f = (suffix) => readJson(path.join(dir, `${b}.${suffix}.json`));
  return {name: b, ort: f('ort'), report: f('report'), estOriginal: f('est-original'), estEqopt: f('est-eqopt')};
}

function latencyTable(rows) {
  const head = ['model'], align = ['---'];
  for (const l of LEVELS) {
    head.push(`${l}: original ms`, `${l}: eqopt ms`, `${l}: ratio (p10-p90)`);
    align.push('---:', '---:', '---:');
  }
  head.push('outputs match');
  align.push('---');
  const lines = [`| ${head.join(' | ')} |`, `|${align.join('|')}|`];
  for (const r of rows) {
    const cells = [r.name];
    for (const l of LEVELS) {
      const v = r.ort.levels[l];
      const p = v.paired_ratio;
      cells.push(f2(v.original.median_ms), f2(v.other.median_ms), `**${r2(v.ratio)}** (${r2(p.p10)}-${r2(p.p90)})`);
    }
    const bad = LEVELS.filter((l) => !r.ort.levels[l].check.other.ok);
    cells.push(bad.length ? `NO at ${bad.join(', ')}` : 'yes');
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const gm = ['geometric mean'];
  for (const l of LEVELS) {
    const a = geomean(rows.map((r) => r.ort.levels[l].original.median_ms));
    const b = geomean(rows.map((r) => r.ort.levels[l].other.median_ms));
    gm.push(f2(a), f2(b), `**${r2(b / a)}**`);
  }
  gm.push('');
  lines.push(`| ${gm.join(' | ')} |`);
  return lines.join('\n');
}

function slowerList(rows) {
  const lines = [];
  for (const r of rows) {
    const over = LEVELS.filter((l) => r.ort.levels[l].ratio > SLOWER);
    const show = (l) => {
      const v = r.ort.levels[l];
      return `${l} ${r2(v.ratio)}${v.paired_ratio.p10 <= 1 ? ` (p10-p90 ${r2(v.paired_ratio.p10)}-${r2(v.paired_ratio.p90)}, includes 1)` : ''}`;
    };
    if (over.length) lines.push(`- ${r.name}: ${over.map(show).join(', ')}`);
  }
  return lines.length ? lines.join('\n') : `- none: every model's ratio is at most ${SLOWER} at every level`;
}

// Measured and estimated change per op class at level "disabled", each as a share of the
// original's total (measured: profiled kernel time; estimated: the report's per-class cost).
function classShares(r) {
  const prof = r.ort.profile;
  const meas = {original: {}, eqopt: {}}, ops = {};
  for (const [key, side] of [['original', prof.original], ['eqopt', prof.other]]) {
    for (const [op, ms] of Object.entries(side.ms_by_op)) {
      const c = opClass(op);
      meas[key][c] = (meas[key][c] || 0) + ms;
      ops[c] = ops[c] || {};
      ops[c][op] = ops[c][op] || {original: 0, eqopt: 0};
      ops[c][op][key] += ms;
    }
  }
  const est = r.report.estimated_cost_by_class_ms;
  const M = sum(meas.original), E = r.report.estimated_cost_ms.before;
  const classes = [...new Set([...Object.keys(meas.original), ...Object.keys(meas.eqopt), ...Object.keys(est)])].sort();
  return classes.map((c) => {
    const mb = meas.original[c] || 0, ma = meas.eqopt[c] || 0;
    const eb = est[c] ? est[c].before : 0, ea = est[c] ? est[c].after : 0;
    const dm = (ma - mb) / M, de = E > 0 ? (ea - eb) / E : 0;
    return {cls: c, mb, ma, eb, ea, dm, de, off: Math.abs(dm - de) >= CLASS_POINTS, ops: ops[c] || {}};
  });
}

function estimateSection(rows) {
  const lines = [
    '| model | measured ratio | profiled kernel ratio | estimated ratio (report) | estimated at data shapes | disagree > 10% |',
    '|---|---:|---:|---:|---:|---|',
  ];
  const flagged = [];
  for (const r of rows) {
    const measured = r.ort.levels.disabled.ratio;
    const prof = r.ort.profile;
    const kernel = sum(prof.other.ms_by_op) / sum(prof.original.ms_by_op);
    const e = r.report.estimated_cost_ms;
    const estimated = e.before > 0 ? e.after / e.before : 1;
    const atShapes = r.estEqopt.estimated_time_ms / r.estOriginal.estimated_time_ms;
    const off = Math.abs(measured / estimated - 1) > DISAGREE;
    if (off) flagged.push({r, measured, kernel, estimated});
    lines.push(`| ${r.name} | ${r2(measured)} | ${r2(kernel)} | ${r2(estimated)} | ${r2(atShapes)} | ${off ? 'yes' : ''} |`);
  }
  lines.push('');
  if (!flagged.length) {
    lines.push('No model\'s measured and estimated ratios differ by more than 10%.');
    return lines.join('\n');
  }
  lines.push(`Models where they differ by more than 10%, and the op classes whose estimated change (share of the ` +
             `original's estimated total) is ${100 * CLASS_POINTS} points or more away from the measured one ` +
             `(share of the original's profiled kernel time), with the op types ORT ran in that class ` +
             `(measured ms per run, original → eqopt):`);
  lines.push('');
  for (const {r, measured, kernel, estimated} of flagged) {
    const shares = classShares(r).filter((s) => s.off).sort((a, b) => Math.abs(b.dm - b.de) - Math.abs(a.dm - a.de));
    const notes = [];
    if (r.estOriginal.subgraphs > 0) {
      notes.push(`eqopt's estimate leaves out the model's ${r.estOriginal.subgraphs} If/Loop/Scan bodies, ` +
                 `which hold most of its work`);
    }
    if (!shares.length) notes.push('no single class is 3 points off (the difference is spread, or between kernels)');
    lines.push(`- **${r.name}**: measured ${r2(measured)} (kernels ${r2(kernel)}), estimated ${r2(estimated)}` +
               notes.map((n) => `; ${n}`).join(''));
    for (const s of shares) {
      const ops = Object.entries(s.ops).filter(([, v]) => Math.abs(v.eqopt - v.original) > 0.002 || v.original > 0.002)
        .sort((a, b) => Math.abs(b[1].eqopt - b[1].original) - Math.abs(a[1].eqopt - a[1].original))
        .map(([op, v]) => `${op} ${f2(v.original)} → ${f2(v.eqopt)}`);
      lines.push(`  - ${s.cls}: estimated ${signedPoints(s.de)} points (${f2(s.eb)} → ${f2(s.ea)} ms), measured ` +
                 `${signedPoints(s.dm)} points${ops.length ? ` (${ops.join(', ')})` : ''}`);
    }
  }
  return lines.join('\n');
}

function main() {
  const [dir, ...models] = process.argv.slice(2);
  if (!dir || !models.length) {
    console.error('usage: node ort_report.js DIR MODEL.onnx...');
    process.exit(2);
  }
  const rows = models.map((m) => load(dir, m));
  const first = rows[0].ort;
  console.log(`### ONNX Runtime latency, original vs eqopt's output (median of ${first.rounds} interleaved rounds ` +
              `after ${first.warmup} warm-up runs, ms)\n`);
  console.log(latencyTable(rows));
  console.log(`\n### Models whose ratio eqopt/original exceeds ${SLOWER}\n`);
  console.log(slowerList(rows));
  console.log('\n### Measured vs estimated ratio at ORT level "disabled"\n');
  console.log(estimateSection(rows));
  const failed = rows.filter((r) => LEVELS.some((l) => !r.ort.levels[l].check.other.ok));
  if (failed.length) {
    console.error(`ort_report: ORT does not reproduce the reference outputs from eqopt's output for ${failed.map((r) => r.name).join(', ')}`);
    process.exit(1);
  }
}
main();
