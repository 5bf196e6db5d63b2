#!/usr/bin/env python3
"""HDF5 checks for tests/slurm/run.sh, on top of tests/sweep_mpi.py's reader and comparer.

  check.py complete FILE             every job of FILE is done; prints the count
  check.py equal A B WHAT            A and B hold the same results except timing/run columns
  check.py runs FILE KIND,KIND,...   /runs lists these kinds of run, in order
  check.py kept FILE RUN N           exactly N jobs were computed by run RUN (e.g. the run that
                                     was stopped: its jobs survived the requeue)
Exits 1 with a FAIL: line on the first failed check.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sweep_mpi  # noqa: E402 -- the comparison the MPI tests use ("except timing columns")

import numpy as np  # noqa: E402


def main(argv):
    cmd = argv[1]
    if cmd == "complete":
        d, attrs, _ = sweep_mpi.read(argv[2])
        st = d["jobs"]["status"]
        sweep_mpi.check(len(st) == attrs["njobs"], "%s: %d rows for %d jobs"
                        % (argv[2], len(st), attrs["njobs"]))
        sweep_mpi.check(np.all(st == 1), "%s: %d of %d jobs not done"
                        % (argv[2], int(np.sum(st != 1)), len(st)))
        print(len(st))
    elif cmd == "equal":
        sweep_mpi.compare(argv[2], argv[3], argv[4])
        print("equal")
    elif cmd == "runs":
        d, _, _ = sweep_mpi.read(argv[2])
        kinds = [k.decode() for k in d["runs"]["kind"]]
        sweep_mpi.check(kinds == argv[3].split(","), "%s: /runs kinds %s, expected %s"
                        % (argv[2], kinds, argv[3]))
        print(",".join(kinds))
    elif cmd == "kept":
        d, _, _ = sweep_mpi.read(argv[2])
        n = int(np.sum(d["jobs"]["run"] == int(argv[3])))
        sweep_mpi.check(n == int(argv[4]), "%s: %d jobs from run %s, expected %s"
                        % (argv[2], n, argv[3], argv[4]))
        print(n)
    else:
        sweep_mpi.fail("unknown check " + cmd)


if __name__ == "__main__":
    main(sys.argv)
