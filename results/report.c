/* `moncim report`: the summary tables of a sweep file, as text or as one JSON object.
 *
 * Accuracy tables aggregate over seeds: a "configuration" is every axis except the seed, its
 * bpc is the mean over its done seeds (with the standard deviation when there are several).
 * Lower bpc is better. */
#include "results.h"
#include "base.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const res_row *r; /* representative row (first seed) */
  int n;            /* done seeds */
  double bpc, bpc_sd, top1, agreement;
  double area, energy, latency;
} config;

static int same_config(const res_row *a, const res_row *b) {
  return !strcmp(a->p.model, b->p.model) && !strcmp(a->p.hardware, b->p.hardware) &&
         a->p.nblocks == b->p.nblocks && !strcmp(a->p.mapping, b->p.mapping) &&
         !strcmp(a->p.noise, b->p.noise) && a->p.dac_bits == b->p.dac_bits &&
         a->p.adc_bits == b->p.adc_bits;
}

/* Jobs are stored in expansion order, seeds innermost: one configuration's seeds are adjacent. */
static int build_configs(const res_data *d, config **out) {
  config *c = calloc((size_t)d->njobs + 1, sizeof *c);
  if (!c) return mon_fail("out of memory");
  int n = 0;
  for (int64_t i = 0; i < d->njobs; i++) {
    const res_row *r = &d->jobs[i];
    if (r->status != RES_DONE) continue;
    if (!(n > 0 && same_config(c[n - 1].r, r))) c[n++].r = r;
    config *g = &c[n - 1];
    g->n++;
    g->bpc += r->m.bpc;
    g->bpc_sd += r->m.bpc * r->m.bpc;
    g->top1 += r->m.top1;
    g->agreement += r->m.agreement;
    g->area += r->m.area_mm2;
    g->energy += r->m.energy_pj;
    g->latency += r->m.latency_ns;
  }
  for (int k = 0; k < n; k++) {
    config *g = &c[k];
    double m = g->bpc / g->n;
    g->bpc_sd = g->n > 1 ? sqrt(fmax(0.0, (g->bpc_sd - g->n * m * m) / (g->n - 1))) : 0.0;
    g->bpc = m;
    g->top1 /= g->n, g->agreement /= g->n;
    g->area /= g->n, g->energy /= g->n, g->latency /= g->n;
  }
  *out = c;
  return n;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Sorted distinct adc_bits values among configs. */
static int adc_values(const config *c, int n, int *v) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    int found = 0;
    for (int j = 0; j < k && !found; j++) found = v[j] == c[i].r->p.adc_bits;
    if (!found) v[k++] = c[i].r->p.adc_bits;
  }
  qsort(v, (size_t)k, sizeof *v, cmp_int);
  return k;
}

static int cmp_area(const void *a, const void *b) {
  const config *x = *(const config *const *)a, *y = *(const config *const *)b;
  if (x->area != y->area) return x->area < y->area ? -1 : 1;
  return x->bpc < y->bpc ? -1 : x->bpc > y->bpc;
}

static cJSON *config_json(const config *g) {
  cJSON *o = cJSON_CreateObject();
  const job_params *p = &g->r->p;
  cJSON_AddStringToObject(o, "model", p->model);
  cJSON_AddStringToObject(o, "hardware", p->hardware);
  cJSON_AddNumberToObject(o, "nblocks", p->nblocks);
  cJSON_AddStringToObject(o, "mapping", p->mapping);
  cJSON_AddStringToObject(o, "noise", p->noise);
  cJSON_AddNumberToObject(o, "dac_bits", p->dac_bits);
  cJSON_AddNumberToObject(o, "adc_bits", p->adc_bits);
  cJSON_AddNumberToObject(o, "seeds", g->n);
  if (isfinite(g->bpc)) {
    cJSON_AddNumberToObject(o, "bpc", g->bpc);
    cJSON_AddNumberToObject(o, "bpc_sd", g->bpc_sd);
    cJSON_AddNumberToObject(o, "top1", g->top1);
    cJSON_AddNumberToObject(o, "agreement", g->agreement);
  }
  cJSON_AddNumberToObject(o, "area_mm2", g->area);
  cJSON_AddNumberToObject(o, "energy_pj", g->energy);
  cJSON_AddNumberToObject(o, "latency_ns", g->latency);
  return o;
}

static const char *cfg_label(const config *g, char *buf, size_t n) {
  const job_params *p = &g->r->p;
  snprintf(buf, n, "%s nb=%d %s dac=%d %s%s%s", p->model, p->nblocks, p->mapping, p->dac_bits,
           p->noise, strcmp(p->hardware, "default") ? " hw=" : "",
           strcmp(p->hardware, "default") ? p->hardware : "");
  return buf;
}

int res_report(const res_data *d, FILE *out, int json) {
  config *c = NULL;
  int n = build_configs(d, &c);
  if (n < 0) return -1;
  int64_t done = 0, failed = 0;
  for (int64_t i = 0; i < d->njobs; i++) {
    done += d->jobs[i].status == RES_DONE;
    failed += d->jobs[i].status == RES_FAILED;
  }
  int has_acc = 0;
  for (int i = 0; i < n && !has_acc; i++) has_acc = isfinite(c[i].bpc);
  int *adc = malloc(((size_t)n + 1) * sizeof *adc);
  const config **front = malloc(((size_t)n + 1) * sizeof *front);
  if (!adc || !front) {
    free(c), free(adc), free(front);
    return mon_fail("out of memory");
  }
  int nadc = adc_values(c, n, adc);
  const res_run_row *last = d->nruns ? &d->runs[d->nruns - 1] : NULL;

  /* Pareto front of (area, bpc): sort by area, keep configs better than all smaller ones. */
  int nfront = 0;
  if (has_acc) {
    const config **byarea = malloc(((size_t)n + 1) * sizeof *byarea);
    if (!byarea) {
      free(c), free(adc), free(front);
      return mon_fail("out of memory");
    }
    int k = 0;
    for (int i = 0; i < n; i++)
      if (isfinite(c[i].bpc) && isfinite(c[i].area)) byarea[k++] = &c[i];
    qsort(byarea, (size_t)k, sizeof *byarea, cmp_area);
    double best = INFINITY;
    for (int i = 0; i < k; i++)
      if (byarea[i]->bpc < best) best = byarea[i]->bpc, front[nfront++] = byarea[i];
    free(byarea);
  }

  /* Best configuration per (mapping, adc_bits). */
  const config **best = calloc((size_t)n + 1, sizeof *best);
  int nbest = 0;
  for (int i = 0; has_acc && best && i < n; i++) {
    if (!isfinite(c[i].bpc)) continue;
    int k;
    for (k = 0; k < nbest; k++)
      if (!strcmp(best[k]->r->p.mapping, c[i].r->p.mapping) &&
          best[k]->r->p.adc_bits == c[i].r->p.adc_bits)
        break;
    if (k == nbest)
      best[nbest++] = &c[i];
    else if (c[i].bpc < best[k]->bpc)
      best[k] = &c[i];
  }

  /* Cost reference point: the largest ADC and the smallest DAC resolution of the sweep. */
  int ref_adc = nadc ? adc[nadc - 1] : 0, ref_dac = 1 << 30;
  for (int i = 0; i < n; i++)
    if (c[i].r->p.dac_bits < ref_dac) ref_dac = c[i].r->p.dac_bits;

  char lab[512];
  if (json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "sweep", d->sweep_name);
    cJSON_AddNumberToObject(o, "jobs", (double)d->njobs);
    cJSON_AddNumberToObject(o, "done", (double)done);
    cJSON_AddNumberToObject(o, "failed", (double)failed);
    cJSON_AddNumberToObject(o, "pending", (double)(d->njobs - done - failed));
    cJSON_AddStringToObject(o, "part", d->part);
    if (last) {
      cJSON *p = cJSON_AddObjectToObject(o, "last_run");
      cJSON_AddStringToObject(p, "kind", last->kind);
      cJSON_AddStringToObject(p, "version", last->version);
      cJSON_AddStringToObject(p, "git_commit", last->git_commit);
      cJSON_AddStringToObject(p, "host", last->host);
      cJSON_AddNumberToObject(p, "ranks", last->ranks);
      cJSON_AddNumberToObject(p, "threads", last->threads);
      cJSON_AddStringToObject(p, "start_time", last->start_time);
      cJSON_AddStringToObject(p, "end_time", last->end_time);
      cJSON_AddStringToObject(p, "executor", last->executor);
    }
    cJSON *acc = cJSON_AddArrayToObject(o, "accuracy_vs_adc_bits");
    for (int i = 0; has_acc && i < n; i++) cJSON_AddItemToArray(acc, config_json(&c[i]));
    cJSON *b = cJSON_AddArrayToObject(o, "best_per_mapping_and_adc_bits");
    for (int k = 0; k < nbest; k++) cJSON_AddItemToArray(b, config_json(best[k]));
    cJSON *pf = cJSON_AddArrayToObject(o, "pareto_accuracy_area");
    for (int k = 0; k < nfront; k++) cJSON_AddItemToArray(pf, config_json(front[k]));
    cJSON *cost = cJSON_AddArrayToObject(o, "cost");
    for (int i = 0; i < n; i++)
      if (c[i].r->p.adc_bits == ref_adc && c[i].r->p.dac_bits == ref_dac) {
        cJSON *e = config_json(&c[i]);
        cJSON_AddNumberToObject(e, "arrays", (double)c[i].r->m.arrays);
        cJSON_AddNumberToObject(e, "adcs", (double)c[i].r->m.adcs);
        cJSON_AddNumberToObject(e, "utilization", c[i].r->m.utilization);
        cJSON_AddItemToArray(cost, e);
      }
    cJSON *rk = cJSON_AddArrayToObject(o, "ranks");
    for (int i = 0; i < d->nranks; i++) {
      cJSON *e = cJSON_CreateObject();
      cJSON_AddNumberToObject(e, "run", d->ranks[i].run);
      cJSON_AddNumberToObject(e, "rank", d->ranks[i].rank);
      cJSON_AddNumberToObject(e, "jobs", (double)d->ranks[i].jobs);
      cJSON_AddNumberToObject(e, "busy_s", d->ranks[i].busy_s);
      cJSON_AddNumberToObject(e, "idle_s", d->ranks[i].idle_s);
      cJSON_AddItemToArray(rk, e);
    }
    char *txt = cJSON_Print(o);
    fprintf(out, "%s\n", txt ? txt : "{}");
    free(txt);
    cJSON_Delete(o);
  } else {
    fprintf(out, "sweep %s: %lld jobs, %lld done, %lld failed, %lld pending%s%s\n", d->sweep_name,
            (long long)d->njobs, (long long)done, (long long)failed,
            (long long)(d->njobs - done - failed), d->part[0] ? ", part " : "", d->part);
    if (last)
      fprintf(out,
              "last run: %s, moncim %s (commit %s), %s, %d ranks x %d threads, %s .. %s, "
              "executor %s\n",
              last->kind, last->version, last->git_commit, last->host, last->ranks, last->threads,
              last->start_time, last->end_time[0] ? last->end_time : "(running or killed)",
              last->executor);
    if (has_acc) {
      fprintf(out, "\nAccuracy vs ADC bits: bits/byte of the simulated model, mean over seeds "
                   "(float reference in the last column)\n");
      fprintf(out, "%-48s", "configuration");
      for (int k = 0; k < nadc; k++) fprintf(out, " %6s%-2d", "adc=", adc[k]);
      fprintf(out, " %8s\n", "float");
      for (int i = 0; i < n;) {
        /* One line per configuration without adc_bits: consecutive configs differing only in
         * adc_bits (adc_bits is the second innermost axis). */
        int j = i;
        fprintf(out, "%-48.48s", cfg_label(&c[i], lab, sizeof lab));
        for (int k = 0; k < nadc; k++) {
          int hit = -1;
          for (int t = i; t < n; t++) {
            const job_params *a = &c[i].r->p, *b = &c[t].r->p;
            if (strcmp(a->model, b->model) || strcmp(a->hardware, b->hardware) ||
                a->nblocks != b->nblocks || strcmp(a->mapping, b->mapping) ||
                strcmp(a->noise, b->noise) || a->dac_bits != b->dac_bits)
              break;
            if (b->adc_bits == adc[k]) hit = t;
            if (t + 1 > j) j = t + 1;
          }
          if (hit >= 0)
            fprintf(out, " %8.4f", c[hit].bpc);
          else
            fprintf(out, " %8s", "-");
        }
        fprintf(out, " %8.4f\n", c[i].r->m.bpc_float);
        i = j > i ? j : i + 1;
      }
      fprintf(out, "\nBest accuracy per mapping and ADC bits\n%-8s %4s %8s %7s %6s %10s %12s  %s\n",
              "mapping", "adc", "bpc", "sd", "top1", "area_mm2", "energy_pj", "configuration");
      for (int k = 0; k < nbest; k++)
        fprintf(out, "%-8s %4d %8.4f %7.4f %6.3f %10.4g %12.4g  %s\n", best[k]->r->p.mapping,
                best[k]->r->p.adc_bits, best[k]->bpc, best[k]->bpc_sd, best[k]->top1, best[k]->area,
                best[k]->energy, cfg_label(best[k], lab, sizeof lab));
      fprintf(out,
              "\nBest accuracy per area (Pareto front: no smaller design is as accurate)\n"
              "%10s %8s %6s %12s %12s  %s\n",
              "area_mm2", "bpc", "top1", "energy_pj", "latency_ns", "configuration");
      for (int k = 0; k < nfront; k++)
        fprintf(out, "%10.4g %8.4f %6.3f %12.4g %12.4g  %s adc=%d\n", front[k]->area, front[k]->bpc,
                front[k]->top1, front[k]->energy, front[k]->latency,
                cfg_label(front[k], lab, sizeof lab), front[k]->r->p.adc_bits);
    }
    fprintf(out,
            "\nCost per token at adc_bits=%d, dac_bits=%d (mean over seeds)\n"
            "%-48s %12s %12s %10s %8s %8s %6s\n",
            ref_adc, ref_dac, "configuration", "latency_ns", "energy_pj", "area_mm2", "arrays",
            "adcs", "util");
    for (int i = 0; i < n; i++)
      if (c[i].r->p.adc_bits == ref_adc && c[i].r->p.dac_bits == ref_dac)
        fprintf(out, "%-48.48s %12.4g %12.4g %10.4g %8lld %8lld %6.3f\n",
                cfg_label(&c[i], lab, sizeof lab), c[i].latency, c[i].energy, c[i].area,
                (long long)c[i].r->m.arrays, (long long)c[i].r->m.adcs, c[i].r->m.utilization);
    if (d->nranks) {
      fprintf(out, "\nRanks (busy = inside jobs, idle = waiting)\n%4s %5s %-16s %6s %9s %9s %6s\n",
              "run", "rank", "host", "jobs", "busy_s", "idle_s", "busy%");
      for (int i = 0; i < d->nranks; i++) {
        const res_rank_row *k = &d->ranks[i];
        fprintf(out, "%4d %5d %-16.16s %6lld %9.2f %9.2f %5.1f%%\n", k->run, k->rank, k->host,
                (long long)k->jobs, k->busy_s, k->idle_s,
                k->wall_s > 0 ? 100.0 * k->busy_s / k->wall_s : 0.0);
      }
    }
    if (failed) {
      fprintf(out, "\nFailed jobs\n");
      for (int64_t i = 0; i < d->njobs; i++)
        if (d->jobs[i].status == RES_FAILED)
          fprintf(out, "  job %lld %s: %s\n", (long long)i, d->jobs[i].job_id, d->jobs[i].error);
    }
  }
  free(best);
  free(front);
  free(adc);
  free(c);
  return 0;
}
