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
  lock         two sweeps started at once on one output, 20 times: exactly one runs, the other
               fails naming the lock; a SIGKILLed run's lock does not block --resume; a run whose
               lock file is removed fails loudly
  fulldisk     a small tmpfs the test mounts (skipped where mounting is not permitted): a full
               disk and a read-only filesystem give clear errors, exit 1, no crash, no temporary
               file left, an existing result file unchanged
  threads      the real executor: every non-timing column bit-identical with OPENBLAS_NUM_THREADS
               and OMP_NUM_THREADS unset, 1 and 2 (all 9 pairs), on 1, 2 and 4 ranks
  corrupt      corrupt result files (a row type's member offset, a row's status and layer range,
               the type of /layers): `report` and `merge` fail naming the dataset, never crash
  sigterm      SIGTERM / SIGUSR1 mid-sweep: exit 75, running jobs finished or marked interrupted,
               the end record written, --resume completes and equals an uninterrupted run
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


def run(cmd, threads=1, expect=0, timeout=1200, env=None):  # ctest TIMEOUT catches hangs
    env = dict(env or ENV, OMP_NUM_THREADS=str(threads))
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


def stat_state(path):
    """The state letter of a /proc/.../stat file (R, S, D, Z, ...)."""
    with open(path) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def threads_alive(pid):
    try:
        tids = os.listdir("/proc/%s/task" % pid)
    except OSError:
        return False
    for t in tids:
        try:
            if stat_state("/proc/%s/task/%s/stat" % (pid, t)) not in ("Z", "X"):
                return True
        except (OSError, IndexError):
            pass
    return False


def session_pids(sid):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # field 6 of stat: session id; a zombie (state Z) is already dead, waiting for a
            # parent (init, in a container possibly none) to reap it -- unless only its main
            # thread is: the other threads still hold its files (and HDF5's lock on the output)
            # until they have exited, which under ASan takes a while
            if int(fields[3]) == sid and (fields[0] != "Z" or threads_alive(d)):
                pids.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return pids


def kill_session(p):
    """SIGKILL mpiexec and every rank it started (they share its session)."""
    def kill_all():
        for pid in session_pids(p.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    kill_all()
    p.wait()
    # ranks reparented to init: wait until they are gone (slow under ASan); kill again each time,
    # since mpiexec may have forked a rank between the listing and its own death
    for _ in range(1200):
        if not session_pids(p.pid):
            return
        kill_all()
        time.sleep(0.05)
    left = []
    for pid in session_pids(p.pid):
        try:
            tasks = "".join(stat_state("/proc/%d/task/%s/stat" % (pid, t))
                            for t in os.listdir("/proc/%d/task" % pid))
            with open("/proc/%d/cmdline" % pid) as f:
                cmd = f.read().replace("\0", " ")[:80]
            left.append("%d state %s threads %s: %s" % (pid, stat_state("/proc/%d/stat" % pid),
                                                         tasks, cmd))
        except (OSError, IndexError):
            pass
    fail("processes of session %d survived SIGKILL for 60 s: %s" % (p.pid, "; ".join(left)))


def kill():
    rng = random.Random(int(os.environ.get("MONCIM_TEST_SEED", "12345")))
    sweep = write_sweep("kill.sweep", work=2.5)
    ref = os.path.join(ARGS.work, "kill_ref.h5")
    t0 = time.time()
    run(sweep_cmd(2, sweep, ref))
    # Kill moments scale with how long a whole run takes on this machine (start-up included):
    # under ASan or on a loaded machine fixed delays would kill every run before its first job.
    span = max(1.0, time.time() - t0)
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
        if attempt % 3 == 0:
            # anywhere in a run, start-up and file creation included
            time.sleep(rng.uniform(0.0, span))
        else:
            # mid-sweep: right after the k-th job of this attempt is reported (k = 1..4), so
            # kills land among job writes however slow start-up is (ASan, a loaded machine)
            k = rng.randint(1, 4)
            t0 = time.time()
            while p.poll() is None and time.time() - t0 < 10 * span:
                with open(errf.name) as f:
                    if f.read().count("done job") >= k:
                        break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.05))
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
    # periphery options: recorded per row; one conversion per pair halves the conversions;
    # a static input range calibrated on held-out text counts its clipping
    per = os.path.join(ARGS.work, "per.sweep")
    with open(per, "w") as f:
        f.write(open(cal).read().replace("name = cal", "name = per")
                .replace("mappings = linear", "mappings = sparse")
                + "option.adc_per = pair\noption.in_encoding = signmag\n"
                + "option.in_range = static\noption.adc_cal = slice\n"
                + "option.calibrate_on = heldout\noption.calibrate_positions = 128\n")
    perout = os.path.join(ARGS.work, "per.h5")
    run(sweep_cmd(1, per, perout), threads=2)
    q = read(perout)[0]["jobs"]
    # the same job of the real sweep, with moncim's own conventions
    own = j[zoo & (j["nblocks"] == 16) & (j["mapping"] == b"sparse") & (j["noise"] == b"none")
            & (j["adc_bits"] == 5)]
    check(len(q) == 1 and len(own) == 1 and q["status"][0] == 1, "periphery sweep ran its job")
    check(all(q[k][0] == 1 for k in ("adc_per_pair", "in_sign_magnitude", "in_range_static",
                                     "adc_calibrated", "adc_cal_per_slice", "cal_heldout"))
          and all(own[k][0] == 0 for k in ("adc_per_pair", "in_sign_magnitude", "in_range_static",
                                           "adc_calibrated", "adc_cal_per_slice", "cal_heldout")),
          "periphery settings recorded in the rows")
    check(q["conversions"][0] * 2 * 8 == own["conversions"][0] * 7,
          "pair + sign-magnitude: conversions x 7/16: %s vs %s"
          % (q["conversions"], own["conversions"]))
    check(0 <= q["in_clip_frac"][0] < 0.01 and own["in_clip_frac"][0] == 0
          and np.isfinite(q["bpc"][0]), "clip fraction %s" % q["in_clip_frac"])
    bad2 = os.path.join(ARGS.work, "badper.sweep")
    with open(bad2, "w") as f:
        f.write(open(per).read().replace("option.in_encoding = signmag", "option.in_encoding = bcd"))
    p = run(sweep_cmd(1, bad2, os.path.join(ARGS.work, "badper.h5")), expect=None)
    check(p.returncode != 0 and "in_encoding" in p.stderr and "bcd" in p.stderr,
          "a bad option.in_encoding is rejected naming it: %s" % p.stderr)
    print("real: identical results for -np 1/2 and 1/2 threads; 12-bit ideal ~ float; "
          "calibrated ADC ranges beat full scale at 5 bits; periphery options in the rows")


def moncim_pids(p):
    """The moncim processes (MPI ranks) of the session p leads."""
    out = []
    for pid in session_pids(p.pid):
        try:
            with open("/proc/%d/comm" % pid) as f:
                if f.read().strip() == "moncim":
                    out.append(pid)
        except OSError:
            pass
    return out


def start(cmd, name, threads=1, env=None):
    errf = open(os.path.join(ARGS.work, name + ".err"), "w+")
    p = subprocess.Popen(cmd, env=dict(env or ENV, OMP_NUM_THREADS=str(threads)),
                         stdout=subprocess.DEVNULL, stderr=errf, start_new_session=True)
    p.errf = errf
    return p


def finish(p, timeout=120):
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_session(p)
        fail("%s did not end within %d s" % (" ".join(p.args), timeout))
    p.errf.seek(0)
    log = p.errf.read()
    p.errf.close()
    return p.returncode, log


def wait_for(pred, what, timeout=60):
    t0 = time.time()
    while not pred():
        check(time.time() - t0 < timeout, "timed out waiting for " + what)
        time.sleep(0.02)


def write_small(name, njobs, sleep_s):
    """A sweep of njobs synthetic jobs that each sleep sleep_s seconds (no CPU)."""
    path = os.path.join(ARGS.work, name)
    with open(path, "w") as f:
        f.write("name = %s\nexecutor = synthetic\nmodels = syn:x1\nmappings = sparse, dense\n"
                "seeds = 1..%d\noption.synthetic_sleep = %g\n" % (name, njobs // 2, sleep_s))
    return path


def lock():
    # Singleton runs (no mpiexec) under ASan: LeakSanitizer's exit-time tracer crashes in them
    # (SIGSEGV in the tracer, "LeakSanitizer has encountered a fatal error"), so they run without
    # leak detection; every other scenario, under mpiexec, keeps it.
    solo_env = dict(ENV, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    # The first run must still hold the lock when the second one (started with it) gets to the
    # lock: its 6 jobs sleep for three start-ups (start-up time varies with the machine's load;
    # once, with one start-up, the second run began after the first had ended).
    # (again, once, under ctest -j2 beside the MPI scenarios: so the slowest of three start-ups
    # counts, and the first run holds the lock for at least 1.5 s).
    probe = write_small("lock_probe.sweep", 2, 0.0)
    startup = 0
    for _ in range(3):
        t0 = time.time()
        run([ARGS.moncim, "sweep", probe, "-o", os.path.join(ARGS.work, "probe.h5"), "--force"],
            env=solo_env)
        startup = max(startup, time.time() - t0)
    sweep = write_small("lock.sweep", 6, max(0.25, 3 * startup / 6))
    ref = os.path.join(ARGS.work, "lock_ref.h5")
    run(sweep_cmd(1, sweep, ref))
    out = os.path.join(ARGS.work, "lock.h5")
    # Singleton runs (no mpiexec, as on a laptop): mpiexec takes ~2 s to end a failed rank.
    def solo(*opts):
        return [ARGS.moncim, "sweep", sweep, "-o", out] + list(opts)
    for i in range(12):
        a = start(solo("--force"), "lock_a%d" % i, env=solo_env)
        b = start(solo("--force"), "lock_b%d" % i, env=solo_env)
        (ra, la), (rb, lb) = finish(a), finish(b)
        check(sorted((ra, rb)) == [0, 1],
              "pair %d: exit statuses %d and %d (want one 0, one 1)\n%s\n%s" % (i, ra, rb, la, lb))
        loser = la if ra else lb
        check(re.search(r"lock\.h5 is being written by another moncim: its lock .*lock\.h5\.lock "
                        r"is held by pid \d+", loser), "pair %d: loser's message: %s" % (i, loser))
        check(all_done(out), "pair %d: the file is not complete" % i)
        compare(ref, out, "pair %d" % i)
        check(not os.path.exists(out + ".lock") and not os.path.exists(out + ".tmp"),
              "pair %d: a lock or temporary file was left behind" % i)
    # A SIGKILLed run leaves its lock file, but the kernel dropped the lock: --resume proceeds.
    sweep = write_small("lock_slow.sweep", 6, 0.5)
    out = os.path.join(ARGS.work, "lock_slow.h5")
    p = start(solo("--force", "-v"), "lock_killed", env=solo_env)
    wait_for(lambda: os.path.exists(out + ".lock") and moncim_pids(p), "the run to start")
    time.sleep(0.5)
    kill_session(p)
    check(os.path.exists(out + ".lock"), "the killed run's lock file is gone")
    run(sweep_cmd(1, sweep, out, "--resume"))
    check(all_done(out), "resume after a SIGKILL incomplete")
    # A run whose lock is removed under it stops instead of writing on.
    p = start(solo("--force"), "lock_lost", env=solo_env)
    wait_for(lambda: os.path.exists(out + ".lock"), "the lock file")
    time.sleep(0.3)
    os.remove(out + ".lock")
    rc, log = finish(p)
    check(rc == 1 and "lost the lock" in log, "removed lock: exit %d\n%s" % (rc, log))
    print("lock: 12 simultaneous pairs, each time one ran and the other was refused naming the "
          "lock; a SIGKILLed run's lock is not stale; a lost lock stops the run")


def sigterm():
    # 12 jobs of 0.25 s: 1.5 s on 2 ranks, 3 s on one; the signal follows the first done job
    sweep = write_small("term.sweep", 12, 0.25)
    ref = os.path.join(ARGS.work, "term_ref.h5")
    run(sweep_cmd(2, sweep, ref))
    cases = [  # (name, ranks, grace, how the signal is sent)
        ("grace", 2, "30", "TERM-ranks"),  # running jobs finish within the grace period
        ("nograce", 2, "0", "TERM-ranks"),  # running jobs are marked interrupted
        ("onerank", 1, "0", "TERM-ranks"),
        ("usr1", 2, "30", "USR1-mpiexec"),  # what Slurm's --signal sends; mpiexec forwards it
    ]
    for name, np_, grace, how in cases:
        out = os.path.join(ARGS.work, "term_%s.h5" % name)
        p = start(sweep_cmd(np_, sweep, out, "-v", "--grace", grace), "term_" + name)
        # signal once the first job is reported: the sweep is running, most jobs are not done
        wait_for(lambda: "done job" in open(p.errf.name).read(), "the first finished job",
                 timeout=200)
        if how == "TERM-ranks":  # Slurm signals every task of the step
            for pid in moncim_pids(p):
                os.kill(pid, signal.SIGTERM)
        else:
            os.kill(p.pid, signal.SIGUSR1)
        t0 = time.time()
        rc, log = finish(p)
        check(rc == 75, "%s: exit status %d, want 75 (interrupted, resumable)\n%s" % (name, rc, log))
        check(time.time() - t0 < 20, "%s: the stop took %.1f s" % (name, time.time() - t0))
        check(re.search(r"interrupted by SIG(TERM|USR1).*--resume continues", log),
              "%s: message\n%s" % (name, log))
        d, attrs, _ = read(out)
        j = d["jobs"]
        done, pending = j["status"] == 1, j["status"] == 0
        check(0 < done.sum() < len(j), "%s: %d of %d done: the signal came too early or late"
              % (name, done.sum(), len(j)))
        interrupted = np.array([e.startswith(b"interrupted:") for e in j["error"]])
        check(np.all(pending[interrupted]), "%s: an interrupted job is not pending" % name)
        if grace == "30":
            check(not interrupted.any(), "%s: jobs marked interrupted despite the grace" % name)
        else:
            # every rank that was inside a job (a rank between two jobs gets none)
            check(1 <= interrupted.sum() <= np_, "%s: %d jobs marked interrupted, want 1..%d"
                  % (name, interrupted.sum(), np_))
        check(attrs["end_time"] != "" and len(d["runs"]) == 1 and d["runs"]["end_time"][0],
              "%s: no end record" % name)
        check(d["runs"]["jobs_run"][0] == done.sum(), "%s: jobs_run" % name)
        reported = set(int(m) for m in re.findall(r"done job (\d+) ", log))
        check(reported == set(np.nonzero(done)[0]), "%s: jobs reported done != done in file"
              % name)
        check(not os.path.exists(out + ".lock"), "%s: lock left behind" % name)
        p2 = run(sweep_cmd(2, sweep, out, "--resume"))
        check(re.search(r"\b%d to run" % (len(j) - done.sum()), p2.stderr),
              "%s: resume did not rerun exactly the unfinished jobs:\n%s" % (name, p2.stderr))
        check(all_done(out), "%s: resume incomplete" % name)
        compare(ref, out, "%s: interrupted + resumed vs uninterrupted" % name)
    print("sigterm: %s: exit 75, running jobs finished or marked, resume == uninterrupted"
          % ", ".join(c[0] for c in cases))


SKIP = 77  # ctest SKIP_RETURN_CODE


def fulldisk():
    mnt = os.path.join(ARGS.work, "mnt")
    os.makedirs(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("SKIP: cannot mount a tmpfs here (%s): the full-disk test needs root"
              % (p.stderr.strip() or p.returncode))
        sys.exit(SKIP)
    try:
        fulldisk_on(mnt)
    finally:
        subprocess.run(["umount", "-l", mnt])


def fulldisk_on(mnt):
    def leftovers():
        return [f for f in os.listdir(mnt) if ".tmp" in f]

    def digest(path):
        with open(path, "rb") as f:
            return f.read()

    small = write_small("fits.sweep", 4, 0.0)
    big = write_sweep("big.sweep", work=0.0)  # TINY with 40 seeds: ~3 MB, more than the disk
    with open(big) as f:
        text = f.read().replace("seeds = 1, 2\n", "seeds = 1..40\n")
    with open(big, "w") as f:
        f.write(text)
    existing = os.path.join(mnt, "existing.h5")
    run(sweep_cmd(1, small, existing))
    before = digest(existing)
    # 1. A sweep whose file does not fit, over an existing result (--force) and as a new file.
    for target, opts in ((existing, ["--force"]), (os.path.join(mnt, "new.h5"), [])):
        p = run(sweep_cmd(1, big, target, *opts), expect=None)
        check(p.returncode == 1, "full disk: exit status %d, want 1\n%s" % (p.returncode, p.stderr))
        check("No space left on device" in p.stderr and "HDF5-DIAG" not in p.stderr,
              "full disk: message\n" + p.stderr)
        check(not leftovers(), "full disk: temporary files left: %s" % leftovers())
    check(not os.path.exists(os.path.join(mnt, "new.h5")), "a half-written new file")
    check(digest(existing) == before, "the existing result file changed")
    # 2. --resume needs room for a copy of the file (the new /runs row): fill the disk first.
    filler = os.path.join(mnt, "filler")
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    p = run(sweep_cmd(1, small, existing, "--resume"), expect=None)
    check(p.returncode == 1 and "No space left on device" in p.stderr,
          "resume on a full disk: exit %d\n%s" % (p.returncode, p.stderr))
    check(digest(existing) == before and not leftovers(), "resume on a full disk left traces")
    os.remove(filler)
    # 3. A read-only filesystem: the real cause, not a guess about another writer.
    subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
    p = run(sweep_cmd(1, small, existing, "--resume"), expect=None)
    check(p.returncode == 1 and "Read-only file system" in p.stderr and "another" not in p.stderr,
          "resume on a read-only filesystem: exit %d\n%s" % (p.returncode, p.stderr))
    check(digest(existing) == before, "read-only: the file changed")
    print("fulldisk: full disk (new file, --force over a result, --resume) and read-only "
          "filesystem: exit 1 with the system's reason, no temporary file, result unchanged")


THREADS = """# dense and Monarch layers, noisy devices: every BLAS and OpenMP path of a real job
name = threads
executor = real
models = zoo:kjv
nblocks = 1, 16
mappings = linear
adc_bits = 6
noise = pcm
noise.pcm = prog-pcm+read-gauss:sigma=0.02
seeds = 1
option.eval_chars = 64
option.models_dir = {models}
"""


def threads():
    path = os.path.join(ARGS.work, "threads.sweep")
    with open(path, "w") as f:
        f.write(THREADS.format(models=os.path.join(ARGS.src, "models")))
    settings = (None, "1", "2")  # None: the variable unset
    pairs = [(b, o) for b in settings for o in settings]
    ref = None
    for i, (blas, omp) in enumerate(pairs):
        np_ = (1, 2, 4)[i % 3]  # each rank count meets every setting of each variable
        env = {k: v for k, v in ENV.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
        if blas:
            env["OPENBLAS_NUM_THREADS"] = blas
        if omp:
            env["OMP_NUM_THREADS"] = omp
        out = os.path.join(ARGS.work, "threads_%d.h5" % i)
        cmd = sweep_cmd(np_, path, out)
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, "%s failed:\n%s" % (" ".join(cmd), p.stderr))
        what = "-np %d OPENBLAS_NUM_THREADS=%s OMP_NUM_THREADS=%s" % (np_, blas or "unset",
                                                                     omp or "unset")
        if ref is None:
            ref = (out, what)
            check(all_done(out), what + ": jobs not done")
        else:
            compare(ref[0], out, "%s vs %s" % (what, ref[1]))
    print("threads: %d runs (OPENBLAS_NUM_THREADS x OMP_NUM_THREADS in unset/1/2, 1/2/4 ranks) "
          "bit-identical in every non-timing column" % len(pairs))


def corrupt():
    sweep = write_small("corrupt.sweep", 4, 0.0)
    good = os.path.join(ARGS.work, "good.h5")
    run(sweep_cmd(1, sweep, good))
    data = open(good, "rb").read()
    with h5py.File(good, "r") as f:
        jobs = f["jobs"]
        jrow = jobs.dtype.itemsize
        jstart = jobs.id.get_chunk_info(0).byte_offset  # first chunk of /jobs: rows 0..
        status_off = jobs.dtype.fields["status"][1]
        lf_off = jobs.dtype.fields["layer_first"][1]

    def member_offset(name):
        """Byte of a compound member's offset in its datatype message (version 1: the name
        NUL-padded to 8 bytes, then the 4-byte offset)."""
        i = data.find(name.encode() + b"\0")
        check(i > 0 and data.find(name.encode() + b"\0", i + 1) < 0, "member %s not unique" % name)
        return i + (len(name) + 1 + 7) // 8 * 8

    cases = {  # name: (byte position, new value, dataset the message must name)
        # the crash this guards against: HDF5 converted with a member far outside the row
        "jobs_member_offset": (member_offset("layer_count") + 3, 0x40, "/jobs"),
        "layers_member_offset": (member_offset("layer") + 1, 0x7f, "/layers"),
        "status_value": (jstart + 1 * jrow + status_off, 7, "/jobs"),
        "layer_first_range": (jstart + 2 * jrow + lf_off + 6, 0x10, "/jobs"),
    }
    for name, (pos, val, ds) in cases.items():
        bad = bytearray(data)
        check(bad[pos] != val, "%s: the byte already holds that value" % name)
        bad[pos] = val
        path = os.path.join(ARGS.work, "bad_%s.h5" % name)
        with open(path, "wb") as f:
            f.write(bad)
        merged = os.path.join(ARGS.work, "merged_%s.h5" % name)
        for cmd in ([ARGS.moncim, "report", path], [ARGS.moncim, "merge", "-o", merged, path]):
            p = run(cmd, expect=None)
            check(p.returncode == 1, "%s: %s exited %d (want 1: no crash)\n%s"
                  % (name, cmd[1], p.returncode, p.stderr))
            check("dataset '%s'" % ds in p.stderr and "corrupt" in p.stderr,
                  "%s: %s: message does not name dataset '%s':\n%s" % (name, cmd[1], ds, p.stderr))
        check(not os.path.exists(merged), "%s: merge wrote an output" % name)
    run([ARGS.moncim, "report", good])
    print("corrupt: %d corruptions rejected by report and merge naming the dataset" % len(cases))
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
     "failures": failures, "plot": plot, "real": real, "mapopts": mapopts, "lock": lock,
     "sigterm": sigterm, "fulldisk": fulldisk, "corrupt": corrupt,
     "threads": threads}[ARGS.scenario]()


if __name__ == "__main__":
    main()
