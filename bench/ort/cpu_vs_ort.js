// eqopt's CPU runtime against ONNX Runtime on one model, interleaved: ORT runs in this process, the
// compiled plan in a child `eqopt bench DIR --serve` process; each round times both back to back, in
// alternating order, on the same inputs (a backend-test data set), so that load from elsewhere
// falls on both alike.
//
//   node cpu_vs_ort.js MODEL.onnx DATA_SET EQOPT DIR [--threads N] [--rounds N] [--warmup N]
//                      [--level disabled|basic|extended|all] [--sample-ms T] [--input-shape ARGS]
//
// Prints one JSON object: ORT's and eqopt's median and p90 sample (ms per run), the median of the
// per-round ratios ORT/eqopt (above 1: eqopt is faster) with its 10th and 90th percentiles, and
// whether ORT's outputs match the data set's.
'use strict';
const {spawn} = require('child_process');
const readline = require('readline');
const {createSession, feedsFor, checkOutputs, quantile, timeRuns} = require('./ort_run.js');

function parse(argv) {
  const o = {threads: 1, rounds: 20, warmup: 3, level: 'all', sampleMs: 20, inputShape: ''};
  const pos = [];
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--threads') o.threads = Number(next());
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--level') o.level = next();
    else if (a === '--sample-ms') o.sampleMs = Number(next());
    else if (a === '--input-shape') o.inputShape = next();
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 4) throw new Error('usage: node cpu_vs_ort.js MODEL.onnx DATA_SET EQOPT DIR [options]');
  return [pos, o];
}

async function main() {
  const [[model, set, eqopt, dir], o] = parse(process.argv.slice(2));
  // Neither side spins while waiting for work: on a 2-core machine shared with other processes, a
  // spinning thread takes the core its partner needs (OpenMP's default policy made eqopt's 2-thread
  // runs several times slower under load, ORT's less so). ORT: session.intra_op.allow_spinning = 0;
  // eqopt: OMP_WAIT_POLICY=passive.
  const session = await createSession(model, o.level, {
    intraOpNumThreads: o.threads, extra: {session: {intra_op: {allow_spinning: '0'}}},
  });
  const feeds = feedsFor(session, set);
  const check = checkOutputs(session, await session.run(feeds), set, 1e-3, 1e-4);
  const args = ['bench', dir, '--serve', '--data', set, '--threads', String(o.threads), '--warmup', String(o.warmup)];
  if (o.inputShape) for (const s of o.inputShape.split(' ').filter((x) => x)) args.push('--input-shape', s);
  const child = spawn(eqopt, args, {stdio: ['pipe', 'pipe', 'inherit'], env: {...process.env, OMP_NUM_THREADS: String(o.threads), OMP_WAIT_POLICY: 'passive'}});
  const lines = readline.createInterface({input: child.stdout})[Symbol.asyncIterator]();
  const eq = async (k) => {
    child.stdin.write(`${k}\n`);
    const {value, done} = await lines.next();
    if (done) throw new Error('eqopt bench --serve stopped');
    return Number(value);
  };
  for (let i = 0; i < o.warmup; ++i) await session.run(feeds);
  // k runs per sample, so that a sample takes about sampleMs.
  const one = Math.max(await timeRuns(session, feeds, 1), await eq(1));
  const k = Math.max(1, Math.round(o.sampleMs / Math.max(one, 1e-3)));
  const ortMs = [], eqMs = [], ratio = [];
  for (let r = 0; r < o.rounds; ++r) {
    let a, b;
    if (r % 2 === 0) {
      a = await timeRuns(session, feeds, k);
      b = await eq(k);
    } else {
      b = await eq(k);
      a = await timeRuns(session, feeds, k);
    }
    ortMs.push(a);
    eqMs.push(b);
    ratio.push(a / b);
  }
  child.stdin.end();
  const last = await lines.next();
  const eqoptRssKb = last.done ? null : Number(String(last.value).split(' ')[1]);
  await new Promise((res) => child.on('close', res));
  console.log(JSON.stringify({
    model, threads: o.threads, level: o.level, rounds: o.rounds, runs_per_sample: k,
    ort_median_ms: quantile(ortMs, 0.5), ort_p90_ms: quantile(ortMs, 0.9),
    eqopt_median_ms: quantile(eqMs, 0.5), eqopt_p90_ms: quantile(eqMs, 0.9),
    speedup_median: quantile(ratio, 0.5), speedup_p10: quantile(ratio, 0.1), speedup_p90: quantile(ratio, 0.9),
    ort_outputs_ok: check.ok,
    // Peak resident memory: the eqopt process, and this Node process (Node itself included; a bare
    // Node process that loaded onnxruntime-node is reported beside it for reference).
    eqopt_peak_rss_mb: eqoptRssKb === null ? null : eqoptRssKb / 1024,
    node_ort_peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }));
}
main().catch((e) => {
  console.error(`cpu_vs_ort: ${String(e.message).split('\n')[0]}`);
  process.exit(2);
});
