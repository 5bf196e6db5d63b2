#!/usr/bin/env python3
"""MPI tests of `moncim sweep` / `merge` / `report` (ctest entries, one scenario each).

Each scenario runs the real binary under mpiexec on tiny sweeps with the synthetic executor and
checks a property of the HDF5 files with h5py:
  determinism  results (all non-run columns) identical for -np 1/2/4 and 1/2 OpenMP threads
  kill         SIGKILL at random moments (including file creation and the end-of-run edit):
               the file always opens, every job reported done is in it, and repeated --resume
               ends in the file an uninterrupted run writes; a rerun recomputes nothing
  errors       malformed sweep files, unwritable outputs, existing outputs: clean failures
               before any job runs, under mpiexec -np 2 (no hang), files untouched
  merge        --part I/N files merged equal the single run; mismatched parts are refused
  failures     failing jobs are recorded as failed; --resume skips them, --retry-failed reruns
  plot         results/plot.py writes its PNGs; the file reads with plain h5py + numpy and every
               column is documented in results/SCHEMA.md
  real         the real executor (zoo model + shape-only): ranks/threads invariance, accuracy
  mapopts      option.dense_layout ... option.adc_lossless cost exactly as `moncim map --json`
usage: sweep_mpi.py SCENARIO --moncim BIN --mpiexec MPIEXEC --src SRCDIR --work DIR
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

ARGS = None
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="passive")

TINY = """# tiny sweep for the harness tests
name = tiny
executor = synthetic
models = syn:x1, syn:x4
nblocks = 2, 4
mappings = sparse, dense, auto
adc_bits = 3..5
noise = none, pcm
noise.pcm = prog-pcm+read-pcm
seeds = 1, 2
exclude = mappings=auto nblocks=4
option.synthetic_work = {work}
option.synthetic_setup_work = {work}
"""


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def write_sweep(name, work=0.2, extra=""):
    path = os.path.join(ARGS.work, name)
    with open(path, "w") as f:
        f.write(TINY.format(work=work) + extra)
    return path


def sweep_cmd(np_, sweep, out, *opts):
    return [ARGS.mpiexec, "--allow-run-as-root", "--oversubscribe", "-np", str(np_),
            ARGS.moncim, "sweep", sweep, "-o", out, *opts]


def run(cmd, threads=1, expect=0, timeout=300):
    env = dict(ENV, OMP_NUM_THREADS=str(threads))
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if expect is not None and p.returncode != expect:
        fail("%s exited %d (expected %d)\nstdout:\n%s\nstderr:\n%s" %
             (" ".join(cmd), p.returncode, expect, p.stdout, p.stderr))
    return p


def read(path):
    with h5py.File(path, "r") as f:
        return {k: f[k][()] for k in ("jobs", "layers", "runs", "ranks")}, dict(f.attrs), \
            f["jobs"].attrs["run_columns"].split(",")


def compare(a, b, what):
    """Every dataset of /jobs and /layers equal except the run-dependent columns."""
    da, _, runcols = read(a)
    db, _, _ = read(b)
    for ds in ("jobs", "layers"):
        x, y = da[ds], db[ds]
        check(x.dtype == y.dtype and x.shape == y.shape, "%s: /%s shapes differ" % (what, ds))
        for col in x.dtype.names:
            if ds == "jobs" and col in runcols:
                continue
            u, v = x[col], y[col]
            same = np.array_equal(u, v, equal_nan=True) if u.dtype.kind == "f" \
                else np.array_equal(u, v)
            if not same:
                bad = np.nonzero(~((u == v) | (np.isnan(u) & np.isnan(v)))
                                 if u.dtype.kind == "f" else u != v)[0]
                fail("%s: /%s column %s differs at rows %s" % (what, ds, col, bad[:10]))


def all_done(path):
    d, _, _ = read(path)
    return bool(np.all(d["jobs"]["status"] == 1))


# ---------------------------------------------------------------- scenarios

def determinism():
    sweep = write_sweep("det.sweep")
    ref = os.path.join(ARGS.work, "det_np1_t1.h5")
    run(sweep_cmd(1, sweep, ref), threads=1)
    check(all_done(ref), "reference run left jobs not done")
    for np_, th in ((1, 2), (2, 1), (2, 2), (4, 1)):
        out = os.path.join(ARGS.work, "det_np%d_t%d.h5" % (np_, th))
        run(sweep_cmd(np_, sweep, out), threads=th)
        compare(ref, out, "-np %d, %d threads vs -np 1, 1 thread" % (np_, th))
        d, attrs, _ = read(out)
        check(attrs["ranks"] == np_, "ranks attribute %s != %d" % (attrs["ranks"], np_))
        check(len(d["ranks"]) == np_, "/ranks has %d rows for %d ranks" % (len(d["ranks"]), np_))
        check(sorted(set(d["jobs"]["rank"])) == list(range(np_)) or np_ > len(d["jobs"]),
              "not every rank ran jobs: %s" % sorted(set(d["jobs"]["rank"])))
        check(np.all(d["jobs"]["threads"] == th) or np_ > 1, "threads column")
    print("determinism: identical results for -np 1/2/4 and 1/2 threads")


def session_pids(sid):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:  # field 6 of stat: session id
                pids.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return pids


def kill_session(p):
    """SIGKILL mpiexec and every rank it started (they share its session)."""
    for pid in session_pids(p.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    p.wait()
    for _ in range(100):  # ranks reparented to init: wait until they are gone
        if not session_pids(p.pid):
            return
        time.sleep(0.05)
    fail("processes of session %d survived SIGKILL" % p.pid)


def kill():
    rng = random.Random(int(os.environ.get("MONCIM_TEST_SEED", "12345")))
    sweep = write_sweep("kill.sweep", work=2.5)
    ref = os.path.join(ARGS.work, "kill_ref.h5")
    run(sweep_cmd(2, sweep, ref))
    out = os.path.join(ARGS.work, "kill.h5")
    for f in (out, out + ".tmp"):
        if os.path.exists(f):
            os.remove(f)
    kills = 0
    for attempt in range(40):
        np_ = 1 + attempt % 2
        cmd = sweep_cmd(np_, sweep, out, "--resume", "-v")
        errf = open(os.path.join(ARGS.work, "kill_%d.err" % attempt), "w+")
        p = subprocess.Popen(cmd, env=dict(ENV, OMP_NUM_THREADS="1"), stdout=subprocess.DEVNULL,
                             stderr=errf, start_new_session=True)
        time.sleep(rng.uniform(0.0, 1.0))
        finished = p.poll() is not None
        if not finished:
            kill_session(p)
            kills += 1
        errf.seek(0)
        log = errf.read()
        errf.close()
        if finished:
            check(p.returncode == 0, "uninterrupted resume failed:\n" + log)
            break
        reported = [int(m) for m in re.findall(r"done job (\d+) ", log)]
        if not os.path.exists(out):
            check(not reported, "jobs reported done but no file after kill %d" % kills)
            continue
        # The file must open and hold every job reported done, equal to the reference.
        try:
            d, _, _ = read(out)
        except Exception as e:  # noqa: BLE001 -- any failure to read is the bug we test for
            fail("file does not open after kill %d at attempt %d: %s" % (kills, attempt, e))
        r, _, _ = read(ref)
        for j in reported:
            check(d["jobs"]["status"][j] == 1, "job %d reported done but not in the file" % j)
            for col in ("bpc", "energy_pj", "area_mm2", "job_id"):
                check(d["jobs"][col][j] == r["jobs"][col][j], "job %d column %s" % (j, col))
            lf, lc = d["jobs"]["layer_first"][j], d["jobs"]["layer_count"][j]
            check(np.array_equal(d["layers"]["energy_pj"][lf:lf + lc],
                                 r["layers"]["energy_pj"][lf:lf + lc]), "job %d layers" % j)
        rep = run([ARGS.moncim, "report", out], expect=0)
        check("sweep tiny" in rep.stdout, "report of a killed file")
    else:
        fail("the sweep never finished in 40 attempts")
    check(kills >= 3, "only %d kills happened: test too weak, tune the delays" % kills)
    check(all_done(out), "resumed sweep not complete")
    compare(ref, out, "killed %d times and resumed vs uninterrupted" % kills)
    # A rerun of a finished sweep recomputes nothing and leaves every job row as it was.
    before, _, _ = read(out)
    p = run(sweep_cmd(2, sweep, out, "--resume"))
    check(re.search(r"0 to run", p.stderr), "rerun did not say 0 to run:\n" + p.stderr)
    after, _, _ = read(out)
    check(np.array_equal(before["jobs"], after["jobs"]), "rerun changed job rows")
    check(len(after["runs"]) == len(before["runs"]) + 1, "rerun not recorded in /runs")
    print("kill: %d SIGKILLs at random moments, nothing reported done was lost, resume == "
          "uninterrupted, rerun recomputed nothing" % kills)


def errors():
    bad = {
        "unknown_key": ("models = syn:x1\nmodles = syn:x2\n", r"bad\.sweep:2: key 'modles'"),
        "no_equals": ("models = syn:x1\nnblocks 4\n", r"bad\.sweep:2: key 'nblocks 4'"),
        "bad_integer": ("models = syn:x1\nadc_bits = 3, four\n", r"bad\.sweep:2: key 'adc_bits'"),
        "out_of_range": ("models = syn:x1\nadc_bits = 3..99\n", r"bad\.sweep:2: key 'adc_bits'"),
        "undefined_noise": ("models = syn:x1\nnoise = none, pcm\n", r"bad\.sweep:2: key 'noise'"),
        "executor_rejects": ("models = syn:x1\nmappings = sparse, diagonal\n",
                             r"bad\.sweep:2: key 'mappings'.*diagonal"),
        "duplicate_key": ("models = syn:x1\nseeds = 1\nseeds = 2\n", r"bad\.sweep:3: key 'seeds'"),
    }
    out = os.path.join(ARGS.work, "err.h5")
    for kind, (text, pattern) in bad.items():
        path = os.path.join(ARGS.work, "bad.sweep")
        with open(path, "w") as f:
            f.write(text + "executor = synthetic\n")
        if os.path.exists(out):
            os.remove(out)
        p = run(sweep_cmd(2, path, out), expect=1, timeout=60)
        check(re.search(pattern, p.stderr), "%s: message %r lacks /%s/" % (kind, p.stderr, pattern))
        check(not os.path.exists(out), "%s: an output file was created" % kind)
    sweep = write_sweep("ok.sweep", work=50)  # jobs would take long: failures must come first
    # Unwritable outputs: missing directory, a regular file used as a directory.
    blocker = os.path.join(ARGS.work, "afile")
    open(blocker, "w").close()
    for target in (os.path.join(ARGS.work, "no", "such", "dir", "x.h5"),
                   os.path.join(blocker, "x.h5")):
        t0 = time.time()
        p = run(sweep_cmd(2, sweep, target, "-v"), expect=1, timeout=60)
        check("cannot create output" in p.stderr, "unwritable %s: %s" % (target, p.stderr))
        check("done job" not in p.stderr, "a job ran before the unwritable output was noticed")
        check(time.time() - t0 < 30, "unwritable output noticed late")
    # An existing output is never overwritten without --force.
    existing = os.path.join(ARGS.work, "exists.h5")
    with open(existing, "w") as f:
        f.write("precious")
    p = run(sweep_cmd(2, sweep, existing), expect=1, timeout=60)
    check("--force" in p.stderr and open(existing).read() == "precious",
          "existing output touched without --force")
    # --resume of a file from another sweep is refused.
    small = write_sweep("small.sweep", work=0.0)
    other = os.path.join(ARGS.work, "other.h5")
    if os.path.exists(other):
        os.remove(other)
    run(sweep_cmd(1, small, other))
    changed = write_sweep("changed.sweep", work=0.0, extra="dac_bits = 1, 2\n")
    p = run(sweep_cmd(1, changed, other, "--resume"), expect=1)
    check("different sweep" in p.stderr, "resume with another sweep: " + p.stderr)
    run(sweep_cmd(1, changed, other, "--force"))
    check(all_done(other), "--force rewrite incomplete")
    print("errors: %d malformed sweeps, 2 unwritable outputs, existing output, foreign resume "
          "all fail cleanly before any job" % len(bad))


def merge():
    sweep = write_sweep("merge.sweep")
    ref = os.path.join(ARGS.work, "merge_ref.h5")
    parts = [os.path.join(ARGS.work, "merge_part%d.h5" % i) for i in range(3)]
    merged = os.path.join(ARGS.work, "merged.h5")
    for f in [ref, merged] + parts:
        if os.path.exists(f):
            os.remove(f)
    run(sweep_cmd(1, sweep, ref))
    for i, part in enumerate(parts):
        run(sweep_cmd(1 + i % 2, sweep, part, "--part", "%d/3" % i))
        d, attrs, _ = read(part)
        st = d["jobs"]["status"]
        idx = np.arange(len(st))
        check(np.all(st[idx % 3 == i] == 1) and np.all(st[idx % 3 != i] == 0),
              "part %d/3 ran the wrong jobs" % i)
    p = run([ARGS.moncim, "merge", "-o", merged, parts[0], parts[1]], expect=1)
    check("done in none" in p.stderr, "merge of an incomplete set: " + p.stderr)
    run([ARGS.moncim, "merge", "-o", merged] + parts)
    compare(ref, merged, "merge of 3 parts vs single run")
    d, _, _ = read(merged)
    check(len(d["runs"]) == 4, "merged /runs should list the merge and 3 part runs")
    other = write_sweep("merge_other.sweep", extra="dac_bits = 2\n")
    o = os.path.join(ARGS.work, "merge_other.h5")
    if os.path.exists(o):
        os.remove(o)
    run(sweep_cmd(1, other, o, "--part", "0/3"))
    p = run([ARGS.moncim, "merge", "--force", "-o", merged, parts[1], o], expect=1)
    check("different sweeps" in p.stderr, "merge of different sweeps: " + p.stderr)
    p = run(sweep_cmd(1, sweep, parts[0], "--resume", "--part", "1/3"), expect=1)
    check("--part" in p.stderr, "resume with another --part: " + p.stderr)
    print("merge: 3 parts merged == single run; incomplete and foreign parts refused")


def failures():
    sweep = write_sweep("fail.sweep", work=0.0, extra="option.synthetic_fail_seed = 2\n")
    out = os.path.join(ARGS.work, "fail.h5")
    if os.path.exists(out):
        os.remove(out)
    p = run(sweep_cmd(2, sweep, out), expect=1)
    check("jobs failed" in p.stderr, p.stderr)
    d, _, _ = read(out)
    j = d["jobs"]
    check(np.all((j["status"] == 2) == (j["seed"] == 2)), "failed rows are not the seed-2 jobs")
    check(all(b"injected failure" in e for e in j["error"][j["status"] == 2]), "error text")
    check(np.all(np.isnan(j["bpc"][j["status"] == 2])), "failed rows carry metrics")
    p = run(sweep_cmd(1, sweep, out, "--resume"), expect=0)
    check("0 to run" in p.stderr, "resume reran failed jobs without --retry-failed")
    p = run(sweep_cmd(1, sweep, out, "--resume", "--retry-failed"), expect=1)
    n = int(np.sum(j["status"] == 2))
    check(re.search(r"\b%d to run" % n, p.stderr), "--retry-failed: " + p.stderr)
    print("failures: %d failed jobs recorded with their error, skipped on resume" % n)


def plot():
    sweep = write_sweep("plot.sweep", work=0.0)
    out = os.path.join(ARGS.work, "plot.h5")
    if os.path.exists(out):
        os.remove(out)
    run(sweep_cmd(2, sweep, out))
    # Plain h5py + numpy: a structured array per table, attributes as str.
    with h5py.File(out, "r") as f:
        jobs = f["jobs"][()]
        check(len(jobs) == f.attrs["njobs"], "row count")
        check("models = syn:x1" in f.attrs["sweep_text"], "sweep text attribute")
        for key in ("moncim_version", "git_commit", "command_line", "host", "ranks_x_threads",
                    "start_time", "end_time"):
            check(key in f.attrs and str(f.attrs[key]) != "", "provenance attribute " + key)
        schema = open(os.path.join(ARGS.src, "results", "SCHEMA.md")).read()
        for ds in ("jobs", "layers", "runs", "ranks"):
            for col in f[ds].dtype.names:
                check(re.search(r"`%s`" % re.escape(col), schema),
                      "column /%s/%s is not documented in results/SCHEMA.md" % (ds, col))
    pngdir = os.path.join(ARGS.work, "png")
    shutil.rmtree(pngdir, ignore_errors=True)
    p = run([sys.executable, os.path.join(ARGS.src, "results", "plot.py"), out, "-o", pngdir])
    pngs = sorted(os.listdir(pngdir))
    for name in ("accuracy_vs_adc_bits.png", "energy_breakdown.png", "latency_breakdown.png",
                 "area_breakdown.png", "pareto_accuracy_area.png"):
        check(name in pngs, "plot.py did not write %s (wrote %s)" % (name, pngs))
        with open(os.path.join(pngdir, name), "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", name + " is not a PNG")
    rep = run([ARGS.moncim, "report", "--json", out])
    import json
    j = json.loads(rep.stdout)
    check(j["done"] == len(jobs) and len(j["pareto_accuracy_area"]) > 0, "report --json")
    print("plot: h5py reads every table, SCHEMA.md documents every column, PNGs written: %s"
          % ", ".join(pngs))


REAL = """# the real pipeline (zoo model, mapping, cimsim, cost) on a tiny sweep
name = real
executor = real
models = zoo:kjv, shape:zoo-shape
nblocks = 4, 16
mappings = linear, sparse, dense
adc_bits = 5, 12
noise = none, pcm
noise.pcm = prog-pcm+read-gauss:sigma=0.02
seeds = 1
exclude = models=shape:zoo-shape noise=pcm
option.eval_chars = 128
option.models_dir = {models}
"""


# IR drop (fast model, default wire) at 12-bit ADCs on SparseMap (rows driven outside a block)
# and DenseMap (packed arrays)
REAL_IR = """noise.ir = prog-pcm+ir:model=fast
exclude = noise=ir adc_bits=5
exclude = noise=ir nblocks=4
exclude = noise=ir models=shape:zoo-shape
exclude = noise=ir mappings=linear
"""


def real():
    """The real executor: identical results for 1 or 2 ranks and 1 or 2 threads (also with IR
    drop); lossless-enough converters on ideal devices track the float model; noise and few ADC
    bits cost accuracy."""
    path = os.path.join(ARGS.work, "real.sweep")
    with open(path, "w") as f:
        f.write(REAL.format(models=os.path.join(ARGS.src, "models"))
                .replace("noise = none, pcm", "noise = none, pcm, ir") + REAL_IR)
    ref = os.path.join(ARGS.work, "real_np1_t1.h5")
    run(sweep_cmd(1, path, ref), threads=1)
    check(all_done(ref), "real sweep left jobs not done")
    for np_, th in ((2, 1), (1, 2)):
        out = os.path.join(ARGS.work, "real_np%d_t%d.h5" % (np_, th))
        run(sweep_cmd(np_, path, out), threads=th)
        compare(ref, out, "real executor: -np %d, %d threads vs -np 1, 1 thread" % (np_, th))
    d, _, _ = read(ref)
    j = d["jobs"]
    zoo = np.array([m.startswith(b"zoo:") for m in j["model"]])
    check(np.all(np.isnan(j["bpc"][~zoo])) and np.all(j["energy_pj"][~zoo] > 0),
          "shape-only jobs: accuracy NaN, cost computed")
    ideal = zoo & (j["noise"] == b"none") & (j["adc_bits"] == 12)
    check(np.all(np.abs(j["bpc"][ideal] - j["bpc_float"][ideal]) < 0.05),
          "12-bit ADC on ideal devices is within 0.05 bits/char of float: %s vs %s"
          % (j["bpc"][ideal], j["bpc_float"][ideal]))
    coarse = zoo & (j["noise"] == b"none") & (j["adc_bits"] == 5)
    check(np.all(j["bpc"][coarse] > j["bpc"][ideal]), "5-bit ADCs cost accuracy")
    irj = zoo & (j["noise"] == b"ir")
    check(np.sum(irj) == 2 and np.all(j["bpc"][irj] > j["bpc_float"][irj]),
          "IR-drop jobs ran and cost accuracy: %s" % j["bpc"][irj])
    # calibrated ADC ranges (option.adc_range): same jobs, better at few bits on 256-row columns
    cal = os.path.join(ARGS.work, "cal.sweep")
    with open(cal, "w") as f:
        f.write(REAL.format(models=os.path.join(ARGS.src, "models"))
                .replace("name = real", "name = cal")
                .replace("models = zoo:kjv, shape:zoo-shape", "models = zoo:kjv")
                .replace("nblocks = 4, 16", "nblocks = 16")
                .replace("mappings = linear, sparse, dense", "mappings = linear")
                .replace("adc_bits = 5, 12", "adc_bits = 5")
                .replace("noise = none, pcm", "noise = none")
                .replace("exclude = models=shape:zoo-shape noise=pcm\n", "")
                + "option.adc_range = calibrated\n")
    calout = os.path.join(ARGS.work, "cal.h5")
    run(sweep_cmd(1, cal, calout), threads=2)
    c = read(calout)[0]["jobs"]
    full = j[zoo & (j["nblocks"] == 16) & (j["mapping"] == b"linear") & (j["noise"] == b"none")
             & (j["adc_bits"] == 5)]
    check(len(c) == 1 and len(full) == 1 and c["bpc"][0] < full["bpc"][0] - 0.5,
          "calibrated 5-bit ADCs on Linear beat full scale: %s vs %s" % (c["bpc"], full["bpc"]))
    bad = os.path.join(ARGS.work, "badcal.sweep")
    with open(bad, "w") as f:
        f.write(open(cal).read().replace("= calibrated", "= sometimes"))
    p = run(sweep_cmd(1, bad, os.path.join(ARGS.work, "bad.h5")), expect=None)
    check(p.returncode != 0 and "adc_range" in p.stderr and "sometimes" in p.stderr,
          "a bad option.adc_range is rejected naming it: %s" % p.stderr)
    print("real: identical results for -np 1/2 and 1/2 threads; 12-bit ideal ~ float; "
          "calibrated ADC ranges beat full scale at 5 bits")


MAPOPTS = """# the mapping and cost settings as sweep options, shape-only workloads (cost only)
name = mapopts
executor = real
models = shape:bert-large, shape:zoo-shape
nblocks = 16
mappings = sparse, dense, auto
adc_bits = 6
dac_bits = 2
noise = none
seeds = 1
"""
# Every setting away from its default (docs/mapping.md, docs/cost-model.md).
SETTINGS = {"dense_layout": "contiguous", "dense_row_split": "2", "share_rows": "1",
            "digital_lanes": "16", "fold_permute": "1", "adc_lossless": "1"}
# `moncim map --json` cost keys whose /jobs column has another name.
JSON_COST = {"latency_ns_per_token": "latency_ns", "energy_pj_per_token": "energy_pj",
             "conversions_per_token": "conversions", "drive_steps_per_token": "steps"}


def mapopts():
    """option.dense_layout ... option.adc_lossless: every row's cost columns equal `moncim map
    --json` with the same settings exactly, the row records the settings, the settings change the
    cost, and a bad value is refused naming file:line and the key before any job runs."""
    opts = "".join("option.%s = %s\n" % kv for kv in SETTINGS.items())
    path = os.path.join(ARGS.work, "mapopts.sweep")
    with open(path, "w") as f:
        f.write(MAPOPTS + opts)
    out = os.path.join(ARGS.work, "mapopts.h5")
    run(sweep_cmd(1, path, out), threads=2)
    check(all_done(out), "mapopts sweep left jobs not done")
    j = read(out)[0]["jobs"]
    layout = {"interleaved": 0, "contiguous": 1}
    flags = sum((["--" + k.replace("_", "-"), v] for k, v in SETTINGS.items()), [])
    maps = {}  # (model, nblocks, adc_bits, dac_bits) -> ({strategy: cost} with, without settings)
    changed = 0
    for r in j:
        model, mapping = r["model"].decode()[len("shape:"):], r["mapping"].decode()
        key = (model, int(r["nblocks"]), int(r["adc_bits"]), int(r["dac_bits"]))
        if key not in maps:
            hw = os.path.join(ARGS.work, "hw_a%d_d%d.json" % key[2:])
            with open(hw, "w") as f:
                f.write('{"adc_bits": %d, "dac_bits": %d}' % key[2:])
            cmd = [ARGS.moncim, "map", "--model", model, "--nblocks", str(key[1]), "--hw", hw,
                   "--json"]
            maps[key] = tuple({s["strategy"]: s["cost"] for s in
                               json.loads(run(cmd + extra).stdout)["strategies"]}
                              for extra in (flags, []))
        cost, plain = maps[key][0][mapping], maps[key][1][mapping]
        what = "%s nblocks %d %s" % (model, r["nblocks"], mapping)
        for name, val in cost.items():
            col = JSON_COST.get(name, name)
            check(r[col] == val, "%s: column %s = %r, moncim map --json says %r"
                  % (what, col, r[col], val))
        for k, v in SETTINGS.items():
            want = layout[v] if k == "dense_layout" else int(v)
            check(r[k] == want, "%s: column %s = %r, the sweep set %s" % (what, k, r[k], v))
        changed += plain != cost
    check(changed == len(j), "the settings change the cost of every job (%d of %d)"
          % (changed, len(j)))
    # every setting's bad values: tests/test_pipeline.c; here the whole command under mpiexec
    for key, val, expect in (("dense_layout", "diagonal", "interleaved or contiguous"),):
        bad = os.path.join(ARGS.work, "bad.sweep")
        with open(bad, "w") as f:
            f.write(MAPOPTS + "option.%s = %s\n" % (key, val))
        badout = os.path.join(ARGS.work, "bad.h5")
        p = run(sweep_cmd(1, bad, badout), expect=1, timeout=60)
        line = MAPOPTS.count("\n") + 1
        check(re.search(r"bad\.sweep:%d: key 'option\.%s'" % (line, key), p.stderr)
              and expect in p.stderr and val in p.stderr,
              "option.%s = %s: message %r" % (key, val, p.stderr))
        check(not os.path.exists(badout), "option.%s = %s: an output was created" % (key, val))
    print("mapopts: %d jobs cost exactly as moncim map --json with the same settings; "
          "bad values refused before any job" % len(j))


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--moncim", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    ARGS = ap.parse_args()
    ARGS.work = os.path.join(ARGS.work, ARGS.scenario)
    shutil.rmtree(ARGS.work, ignore_errors=True)  # every run starts from nothing
    os.makedirs(ARGS.work)
    {"determinism": determinism, "kill": kill, "errors": errors, "merge": merge,
     "failures": failures, "plot": plot, "real": real, "mapopts": mapopts}[ARGS.scenario]()


if __name__ == "__main__":
    main()
