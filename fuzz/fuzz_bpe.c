/* GPT-2's byte-level BPE tokenizer on arbitrary bytes (invalid UTF-8 included): encoding never
 * fails or crashes, every id is in the vocabulary, and decoding gives back the input exactly.
 * The real vocab.json + merges.txt come from $MONCIM_GPT2_TOKENIZER (make fuzz fetches them with
 * scripts/fetch-gpt2-tokenizer.sh). */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mon_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  const char *dir = getenv("MONCIM_GPT2_TOKENIZER");
  if (!dir || mon_tokenizer_load_dir(&tok, dir) || strcmp(mon_tokenizer_kind(tok), "gpt2-bpe")) {
    fprintf(stderr,
            "fuzz_bpe: set MONCIM_GPT2_TOKENIZER to a directory with GPT-2's vocab.json "
            "and merges.txt (scripts/fetch-gpt2-tokenizer.sh): %s\n",
            dir ? mon_errmsg() : "unset");
    abort();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int32_t *ids = NULL;
  size_t n = 0;
  if (mon_tokenizer_encode(tok, data, size, &ids, &n)) {
    fprintf(stderr, "fuzz_bpe: encode failed: %s\n", mon_errmsg());
    abort();
  }
  const int V = mon_tokenizer_vocab_size(tok);
  for (size_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= V) abort();
  uint8_t *back = NULL;
  size_t len = 0;
  if (mon_tokenizer_decode(tok, ids, n, &back, &len)) abort();
  if (len != size || (size && memcmp(back, data, size))) abort(); /* decode(encode(s)) != s */
  free(ids);
  free(back);
  return 0;
}
