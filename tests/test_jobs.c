/* Tests of jobs/: sweep-file parsing and its errors, expansion, exclusions, stable ids, parts,
 * and the synthetic executor's determinism. */
#include <criterion/criterion.h>

#include "jobs.h"
#include "base.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

static int parse(job_sweep *s, const char *text) {
  return job_sweep_parse(s, "t.sweep", text);
}

/* Parses text, expects failure, and checks the message contains every given fragment. */
static void expect_error(const char *text, const char *frag1, const char *frag2) {
  job_sweep s;
  int rc = parse(&s, text);
  const char *msg = mon_errmsg();
  cr_assert_eq(rc, -1, "expected a parse error for:\n%s", text);
  cr_assert(strstr(msg, frag1), "message '%s' lacks '%s'", msg, frag1);
  if (frag2) cr_assert(strstr(msg, frag2), "message '%s' lacks '%s'", msg, frag2);
  job_sweep_destroy(&s);
}

Test(jobs, cartesian_product_in_axis_order) {
  job_sweep s;
  cr_assert_eq(parse(&s, "models = a, b\nnblocks = 2 4 8\nmappings = sparse,dense\n"
                         "adc_bits = 3..5\nseeds = 1..7:3\n"),
               0, "%s", mon_errmsg());
  /* seeds 1, 4, 7 */
  cr_assert_eq(s.axis[JOB_AX_SEEDS].n, 3);
  cr_assert_eq(s.axis[JOB_AX_SEEDS].num[2], 7);
  cr_assert_eq(s.njobs, 2 * 3 * 2 * 3 * 3);
  for (int64_t i = 0; i < s.njobs; i++) cr_assert_eq(s.jobs[i].index, i);
  /* Seeds innermost, then adc_bits, ... models outermost. */
  cr_assert_eq(s.jobs[0].seed, 1);
  cr_assert_eq(s.jobs[1].seed, 4);
  cr_assert_eq(s.jobs[3].adc_bits, 4);
  cr_assert_str_eq(s.jobs[s.njobs / 2].model, "b");
  cr_assert_str_eq(s.jobs[s.njobs - 1].mapping, "dense");
  cr_assert_eq(s.jobs[s.njobs - 1].nblocks, 8);
  /* Defaults of axes not given. */
  cr_assert_str_eq(s.jobs[0].noise, "none");
  cr_assert_str_eq(s.jobs[0].hardware, "default");
  cr_assert_eq(s.jobs[0].dac_bits, 1);
  cr_assert_str_eq(s.name, "t");
  job_sweep_destroy(&s);
}

Test(jobs, exclusions_remove_exactly_the_matching_jobs) {
  job_sweep s;
  cr_assert_eq(parse(&s, "models = a\nnblocks = 2, 4, 8\nmappings = linear, sparse\n"
                         "adc_bits = 3..6\nexclude = mappings=linear nblocks=4,8\n"
                         "exclude = adc_bits=3\n"),
               0, "%s", mon_errmsg());
  int64_t expect = 0;
  for (int i = 0; i < (int)s.njobs; i++) {
    const job_params *p = &s.jobs[i];
    cr_assert(!(strcmp(p->mapping, "linear") == 0 && p->nblocks != 2));
    cr_assert_neq(p->adc_bits, 3);
  }
  /* 3*2*4 = 24 jobs; rule 1 removes linear x {4,8} x 4 adc = 8; rule 2 removes the remaining
   * adc=3 jobs: (24 - 8) / 4 = 4. */
  expect = 24 - 8 - 4;
  cr_assert_eq(s.njobs, expect);
  cr_assert_eq(s.nexcluded, 12);
  job_sweep_destroy(&s);
}

Test(jobs, ids_depend_on_parameters_only) {
  job_sweep a, b;
  cr_assert_eq(parse(&a, "models = m1, m2\nnblocks = 2, 4\nseeds = 1, 2\n"), 0);
  /* Other order, other extra values: the same parameters must keep their ids. */
  cr_assert_eq(parse(&b, "seeds = 2, 9, 1\nnblocks = 4, 2, 16\nmodels = m2, m1\n"), 0);
  int matched = 0;
  for (int64_t i = 0; i < a.njobs; i++)
    for (int64_t j = 0; j < b.njobs; j++) {
      const job_params *p = &a.jobs[i], *q = &b.jobs[j];
      int same = !strcmp(p->model, q->model) && p->nblocks == q->nblocks && p->seed == q->seed;
      cr_assert_eq(same, p->id == q->id, "ids must match exactly when parameters do");
      matched += same;
    }
  cr_assert_eq(matched, a.njobs);
  /* An option changes every id (it may change every result). */
  job_sweep c;
  cr_assert_eq(parse(&c, "models = m1, m2\nnblocks = 2, 4\nseeds = 1, 2\noption.x = 1\n"), 0);
  for (int64_t i = 0; i < a.njobs; i++) cr_assert_neq(a.jobs[i].id, c.jobs[i].id);
  cr_assert_neq(job_sweep_list_hash(&a), job_sweep_list_hash(&c));
  job_sweep_destroy(&a);
  job_sweep_destroy(&b);
  job_sweep_destroy(&c);
}

Test(jobs, canonical_string_names_every_parameter) {
  job_sweep s;
  cr_assert_eq(parse(&s, "models = zoo:x\nnoise = pcm\nnoise.pcm = prog-pcm:scale=2\n"
                         "option.b = 2\noption.a = 1\n"),
               0, "%s", mon_errmsg());
  char buf[1024];
  cr_assert_gt(job_canonical(&s.jobs[0], &s, buf, sizeof buf), 0);
  cr_assert_str_eq(buf,
                   "model=zoo:x;hardware=default;nblocks=1;mapping=linear;"
                   "noise=pcm{prog-pcm:scale=2};dac_bits=1;adc_bits=8;seed=1;opt.a=1;opt.b=2;");
  cr_assert_eq(s.jobs[0].id, job_hash64(buf, strlen(buf)));
  cr_assert_str_eq(s.jobs[0].noise_spec, "prog-pcm:scale=2");
  job_sweep_destroy(&s);
}

/* The digital_lanes axis: 0 (its default) leaves the canonical string and so every id of a sweep
 * without the axis unchanged; a set value is part of the string (distinct jobs, distinct ids). */
Test(jobs, digital_lanes_axis_keeps_old_ids) {
  job_sweep a, b;
  cr_assert_eq(parse(&a, "models = m1\nnblocks = 2, 4\n"), 0, "%s", mon_errmsg());
  cr_assert_eq(parse(&b, "models = m1\nnblocks = 2, 4\ndigital_lanes = 0, 16\n"), 0, "%s",
               mon_errmsg());
  cr_assert_eq(b.njobs, 2 * a.njobs);
  char buf[1024];
  for (int64_t i = 0; i < b.njobs; i++) {
    const job_params *p = &b.jobs[i];
    cr_assert_eq(p->digital_lanes, i % 2 ? 16 : 0, "digital_lanes is inside nblocks");
    cr_assert_gt(job_canonical(p, &b, buf, sizeof buf), 0);
    if (p->digital_lanes) {
      cr_assert(strstr(buf, ";seed=1;digital_lanes=16;"), "%s", buf);
    } else {
      cr_assert_eq(p->id, a.jobs[i / 2].id, "%s", buf);
    }
  }
  cr_assert_neq(b.jobs[0].id, b.jobs[1].id);
  job_sweep_destroy(&a);
  job_sweep_destroy(&b);
}

Test(jobs, comments_continuations_and_line_numbers) {
  job_sweep s;
  cr_assert_eq(parse(&s, "# comment\nmodels = a, \\\n  b   # two models\n\nseeds = 1\n"), 0, "%s",
               mon_errmsg());
  cr_assert_eq(s.axis[JOB_AX_MODELS].n, 2);
  cr_assert_eq(s.axis[JOB_AX_MODELS].line[1], 2); /* a continued line keeps its first line */
  cr_assert_eq(s.axis[JOB_AX_SEEDS].line[0], 5);
  job_sweep_destroy(&s);
}

/* One test per kind of error: each names file:line and the key. */
Test(jobs_errors, unknown_key) {
  expect_error("models = a\nmodles = b\n", "t.sweep:2: key 'modles'", "unknown key");
}
Test(jobs_errors, missing_equals) {
  expect_error("models = a\nseeds 3\n", "t.sweep:2: key 'seeds 3'", "key = value");
}
Test(jobs_errors, empty_value) {
  expect_error("models = a\nseeds =\n", "t.sweep:2: key 'seeds'", "empty value");
}
Test(jobs_errors, not_an_integer) {
  expect_error("models = a\nadc_bits = 3, x\n", "t.sweep:2: key 'adc_bits'",
               "'x' is not an integer");
}
Test(jobs_errors, out_of_range) {
  expect_error("models = a\ndac_bits = 0\n", "t.sweep:2: key 'dac_bits'", "out of range");
}
Test(jobs_errors, bad_range) {
  expect_error("models = a\nadc_bits = 8..3\n", "t.sweep:2: key 'adc_bits'", "empty range");
}
Test(jobs_errors, malformed_range) {
  expect_error("models = a\nadc_bits = 3..x\n", "t.sweep:2: key 'adc_bits'", "integer range");
}
Test(jobs_errors, duplicate_value) {
  expect_error("models = a\nnblocks = 2, 4, 2\n", "t.sweep:2: key 'nblocks'", "listed twice");
}
Test(jobs_errors, duplicate_key) {
  expect_error("models = a\n\nmodels = b\n", "t.sweep:3: key 'models'", "first at line 1");
}
Test(jobs_errors, undefined_noise_label) {
  expect_error("models = a\nnoise = none, pcm\n", "t.sweep:2: key 'noise'", "'pcm' is not defined");
}
Test(jobs_errors, redefined_none) {
  expect_error("models = a\nnoise.none = x\n", "t.sweep:2: key 'noise.none'", "built in");
}
Test(jobs_errors, invalid_name) {
  expect_error("models = a b$c\n", "t.sweep:1: key 'models'", "not a valid name");
}
Test(jobs_errors, exclude_unknown_axis) {
  expect_error("models = a\nexclude = colour=red\n", "t.sweep:2: key 'exclude'", "not an axis");
}
Test(jobs_errors, exclude_value_not_on_axis) {
  expect_error("models = a\nnblocks = 2\nexclude = nblocks=4\n", "t.sweep:3: key 'exclude'",
               "not a value of axis");
}
Test(jobs_errors, exclude_malformed) {
  expect_error("models = a\nexclude = nblocks\n", "t.sweep:2: key 'exclude'", "AXIS=VALUE");
}
Test(jobs_errors, everything_excluded) {
  expect_error("models = a\nexclude = models=a\n", "t.sweep", "remove all");
}
Test(jobs_errors, missing_models) {
  expect_error("seeds = 1\n", "t.sweep: key 'models'", "missing");
}
Test(jobs_errors, digital_lanes_axis_and_option) {
  expect_error("models = a\ndigital_lanes = 1, 16\noption.digital_lanes = 4\n",
               "t.sweep:3: key 'option.digital_lanes'", "line 2");
}
Test(jobs_errors, digital_lanes_out_of_range) {
  expect_error("models = a\ndigital_lanes = 1, 2000000\n", "t.sweep:2: key 'digital_lanes'", NULL);
}
Test(jobs_errors, option_twice) {
  expect_error("models = a\noption.x = 1\noption.x = 2\n", "t.sweep:3: key 'option.x'", "twice");
}

/* A range whose width overflows a long (UBSan aborted on (hi - lo) / step) is rejected by its
 * size, like any other over-long range. */
Test(jobs_errors, range_width_overflow) {
  expect_error("models = a\nseeds = -9223372036854775808..4\n", "t.sweep:2: key 'seeds'",
               "more than 100000 values");
  expect_error("models = a\nseeds = 0..9223372036854775807:2\n", "t.sweep:2: key 'seeds'",
               "more than 100000 values");
}

/* The duplicate check of a list is not quadratic: 100000 seeds parse in well under a second
 * (the pairwise check took 13.5 s). Duplicates far apart are still found. */
Test(jobs, long_lists_parse_fast) {
  job_sweep s;
  double t0 = omp_get_wtime();
  cr_assert_eq(parse(&s, "models = a\nseeds = 0..99999\n"), 0, "%s", mon_errmsg());
  double dt = omp_get_wtime() - t0;
  cr_assert_eq(s.njobs, 100000);
  job_sweep_destroy(&s);
  cr_expect_lt(dt, 2.0, "100000 seeds took %.2f s to parse", dt);
  expect_error("models = a\nseeds = 0..50000, 7\n", "t.sweep:2: key 'seeds'",
               "'7' is listed twice");
}

Test(jobs_errors, missing_file) {
  job_sweep s;
  cr_assert_eq(job_sweep_parse(&s, "/nonexistent/x.sweep", NULL), -1);
  cr_assert(strstr(mon_errmsg(), "/nonexistent/x.sweep: cannot open"), "%s", mon_errmsg());
  job_sweep_destroy(&s);
}

Test(jobs_errors, executor_rejects_value_with_its_line) {
  job_sweep s;
  cr_assert_eq(parse(&s, "models = a\n\nmappings = sparse, diagonal\n"), 0);
  cr_assert_eq(job_sweep_check(&s, &job_executor_synthetic), -1);
  cr_assert(strstr(mon_errmsg(), "t.sweep:3: key 'mappings'"), "%s", mon_errmsg());
  cr_assert(strstr(mon_errmsg(), "diagonal"), "%s", mon_errmsg());
  job_sweep_destroy(&s);
  cr_assert_eq(parse(&s, "models = a\noption.synthetic_work = -3\n"), 0);
  cr_assert_eq(job_sweep_check(&s, &job_executor_synthetic), -1);
  cr_assert(strstr(mon_errmsg(), "t.sweep:2: key 'option.synthetic_work'"), "%s", mon_errmsg());
  job_sweep_destroy(&s);
}

Test(jobs, parts) {
  int i, n;
  cr_assert_eq(job_part_parse("2/5", &i, &n), 0);
  cr_assert(i == 2 && n == 5);
  cr_assert_eq(job_part_parse("5/5", &i, &n), -1);
  cr_assert_eq(job_part_parse("1", &i, &n), -1);
  cr_assert_eq(job_part_parse("-1/3", &i, &n), -1);
  cr_assert_eq(job_part_parse("a/b", &i, &n), -1);
}

/* The synthetic executor obeys the executor contract: plan = rows returned, results depend
 * on the parameters only (not on threads or on what ran before), costs add up. */
Test(jobs, synthetic_executor_contract) {
  job_sweep s;
  cr_assert_eq(parse(&s, "models = syn:x1, syn:x2\nnblocks = 2, 4\nmappings = sparse, auto\n"
                         "adc_bits = 3, 8\nseeds = 1, 2\noption.synthetic_work = 0.05\n"),
               0);
  void *st1, *st2;
  cr_assert_eq(job_executor_synthetic.create(&st1, &s), 0);
  cr_assert_eq(job_executor_synthetic.create(&st2, &s), 0);
  for (int64_t i = 0; i < s.njobs; i++) {
    int nl;
    cr_assert_eq(job_executor_synthetic.plan(st1, &s.jobs[i], &nl), 0);
    job_metrics m1, m2;
    job_layer l1[64], l2[64];
    cr_assert_leq(nl, 64);
    omp_set_num_threads(1);
    cr_assert_eq(job_executor_synthetic.run(st1, &s.jobs[i], &m1, l1), 0);
    omp_set_num_threads(2);
    /* st2 runs the jobs in reverse order: its cache state differs. */
    const job_params *q = &s.jobs[s.njobs - 1 - i];
    job_metrics mq;
    job_layer lq[64];
    cr_assert_eq(job_executor_synthetic.run(st2, q, &mq, lq), 0);
    cr_assert_eq(job_executor_synthetic.run(st2, &s.jobs[i], &m2, l2), 0);
    cr_assert_eq(memcmp(&m1, &m2, sizeof m1), 0, "job %lld differs across threads/order",
                 (long long)i);
    cr_assert_eq(memcmp(l1, l2, (size_t)nl * sizeof *l1), 0);
    double e = m1.energy_dac_pj + m1.energy_array_pj + m1.energy_adc_pj + m1.energy_shiftadd_pj +
               m1.energy_digital_pj + m1.energy_buffer_pj;
    cr_assert_float_eq(e, m1.energy_pj, 1e-9 * e);
    cr_assert_gt(m1.bpc, m1.bpc_float);
  }
  job_cache_stats c;
  job_executor_synthetic.stats(st1, &c);
  cr_assert_eq(c.misses, 4); /* one per (model, nblocks) */
  cr_assert_eq(c.hits, s.njobs - 4);
  job_executor_synthetic.destroy(st1);
  job_executor_synthetic.destroy(st2);
  job_sweep_destroy(&s);
}
