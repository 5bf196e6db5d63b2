/* Writes the seed of the safetensors fuzzer from a real checkpoint: every tensor name, its
 * rank and the file's metadata kept, each dimension cut to at most 2 (a few KB instead of
 * megabytes, so the fuzzer mutates the header rather than weight bytes). */
#include "base.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 3) return fprintf(stderr, "usage: gen_safetensors IN OUT\n"), 2;
  mon_safetensors st;
  if (mon_st_open(&st, argv[1])) return fprintf(stderr, "gen_safetensors: %s\n", mon_errmsg()), 1;
  mon_st_writer *w = mon_st_writer_create();
  int64_t(*shapes)[MON_MAX_DIMS] = calloc((size_t)st.ntensors + 1, sizeof *shapes);
  static const float zeros[1 << MON_MAX_DIMS];
  int rc = !w || !shapes;
  for (int i = 0; !rc && i < st.ntensors; i++) {
    const mon_tensor *t = &st.tensors[i];
    for (int d = 0; d < t->ndim; d++) shapes[i][d] = t->shape[d] < 2 ? t->shape[d] : 2;
    rc = mon_st_writer_add(w, t->name, t->ndim, shapes[i], zeros);
  }
  for (int i = 0; !rc && i < st.nmeta; i++)
    rc = mon_st_writer_meta(w, st.meta_keys[i], st.meta_values[i]);
  if (!rc) rc = mon_st_writer_write(w, argv[2]);
  if (rc) fprintf(stderr, "gen_safetensors: %s\n", mon_errmsg());
  mon_st_writer_destroy(w);
  free(shapes);
  mon_st_close(&st);
  return rc ? 1 : 0;
}
