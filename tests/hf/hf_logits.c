/* Test helper: the logits of a model directory for one sequence of token ids, as raw float32
 * (n, vocab_size) row-major, for tests/hf/test_hf.py to compare with its NumPy forward.
 * usage: hf_logits DIR IDS_FILE OUT_FILE   (IDS_FILE: whitespace-separated token ids) */
#include "forward.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: hf_logits DIR IDS_FILE OUT_FILE\n");
    return 2;
  }
  mon_model m;
  if (mon_model_load(&m, argv[1])) {
    fprintf(stderr, "hf_logits: %s\n", mon_errmsg());
    return 1;
  }
  FILE *f = fopen(argv[2], "r");
  int32_t ids[4096];
  int n = 0;
  while (f && n < 4096 && fscanf(f, "%d", &ids[n]) == 1) n++;
  if (f) fclose(f);
  if (n < 1 || n > m.cfg.n_positions) {
    fprintf(stderr, "hf_logits: %s: %d ids, expected 1..%d\n", argv[2], n, m.cfg.n_positions);
    return 1;
  }
  mon_workspace *w = mon_ws_create(&m, 1, n, 0);
  if (!w) return fprintf(stderr, "hf_logits: %s\n", mon_errmsg()), 1;
  for (int i = 0; i < n; i++) w->tok[i] = ids[i], w->tgt[i] = ids[(i + 1) % n];
  if (mon_ws_forward(&m, w, NULL, NULL, 0))
    return fprintf(stderr, "hf_logits: %s\n", mon_errmsg()), 1;
  FILE *o = fopen(argv[3], "wb");
  size_t cnt = (size_t)n * m.cfg.vocab_size;
  if (!o || fwrite(w->logits, sizeof(float), cnt, o) != cnt || fclose(o)) {
    fprintf(stderr, "hf_logits: cannot write %s\n", argv[3]);
    return 1;
  }
  mon_ws_destroy(w, m.cfg.n_layer);
  mon_model_destroy(&m);
  return 0;
}
