/* moncim: entry point and subcommand dispatch. */
#include "bench.h"
#include "kernels.h"

#include <stdio.h>
#include <string.h>

static void version_usage(FILE *f) {
  fprintf(f, "usage: moncim version\n\nPrints the version and the git commit moncim was built "
             "from.\n");
}

static int cmd_version(int argc, char **argv) {
  const bench_opt opts[] = {BENCH_END};
  int rc = bench_options("version", argc, argv, opts, version_usage, NULL);
  if (rc != BENCH_CONTINUE) return rc;
  bench_version(stdout);
  return BENCH_OK;
}

static const bench_command commands[] = {
    {.name = "version", .summary = "print the version and git commit", .run = cmd_version},
    {.name = "info",
     .summary = "list the tensors and metadata of a safetensors file",
     .run = bench_cmd_info},
    {.name = "map",
     .summary = "map a model onto crossbar arrays, table per strategy",
     .run = bench_cmd_map},
    {.name = "trace",
     .summary = "write the CIM command stream of one token",
     .run = bench_cmd_trace},
    {.name = "sweep",
     .summary = "run a sweep file across MPI ranks into HDF5",
     .run = bench_cmd_sweep},
    {.name = "report", .summary = "summary tables of a sweep's HDF5 file", .run = bench_cmd_report},
    {.name = "merge", .summary = "combine the part files of a sweep", .run = bench_cmd_merge},
    {.name = "project",
     .summary = "project a dense weight onto the nearest Monarch matrix",
     .run = bench_cmd_project},
    {.name = "train",
     .summary = "train a character-level GPT-2 on the KJV text",
     .run = bench_cmd_train},
    {.name = "d2s",
     .summary = "dense-to-Monarch projection + fine-tuning of a model",
     .run = bench_cmd_d2s},
    {.name = "eval",
     .summary = "bits/byte and top-1 of a model on the held-out text",
     .run = bench_cmd_eval},
    {.name = "bench",
     .summary = "micro-benchmarks (bench mvm: simulator vs sgemm)",
     .run = bench_cmd_bench},
    {.name = "mvm",
     .summary = "simulate one matrix on input vectors from files",
     .run = bench_cmd_mvm},
    {.name = "simulate",
     .summary = "model accuracy on the simulated analog hardware",
     .run = bench_cmd_simulate},
    {.name = "tokenize",
     .summary = "token ids of a text (GPT-2 BPE or characters), or back",
     .run = bench_cmd_tokenize},
};
static const int ncommands = (int)(sizeof commands / sizeof commands[0]);

static void usage(FILE *f) {
  fprintf(f, "usage: moncim <command> [options]   (moncim <command> --help for each)\n\n"
             "moncim maps Monarch sparse transformers onto analog compute-in-memory arrays,\n"
             "simulates them and sweeps the design space.\n\ncommands:\n");
  for (int i = 0; i < ncommands; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n  --version  print the version and git commit\n  --help     this text\n");
}

int main(int argc, char **argv) {
  mon_blas_serial(); /* results independent of OPENBLAS_NUM_THREADS (kernels.h) */
  if (argc < 2) {
    usage(stderr);
    return BENCH_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return BENCH_OK;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
    bench_version(stdout);
    return BENCH_OK;
  }
  for (int i = 0; i < ncommands; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "moncim: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return BENCH_USAGE;
}
