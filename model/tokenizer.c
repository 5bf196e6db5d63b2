/* Tokenizers: one interface (mon_tokenizer), two implementations.
 *
 * - chars: the zoo's character vocabulary, one token per byte (token id -> byte table).
 * - bpe:   GPT-2's byte-level BPE (Radford et al. 2019; openai/gpt-2 encoder.py): the text is cut
 *          into pre-tokens by GPT-2's regex (PCRE2, UTF mode), each pre-token's bytes start as
 *          one symbol per byte and adjacent pairs are merged by rank (merges.txt line order)
 *          until no ranked pair is left; symbols map to ids through vocab.json, whose keys spell
 *          bytes with the printable "byte-to-unicode" alphabet.
 *
 * Invalid UTF-8 bytes: GPT-2's encoder only ever sees Unicode strings. Here every byte that does
 * not start a well-formed UTF-8 sequence is kept as itself (so decode(encode(s)) == s for any
 * bytes) and classified like a surrogate-escaped code point (Python's PEP 383): neither letter,
 * number nor space, i.e. it joins a run of punctuation. It is shown to PCRE2 as a private-use
 * code point U+10FF00 + byte (equally "other"), and the match offsets map back to the bytes. */
#include "model.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* GPT-2's pre-tokenizer (openai/gpt-2 src/encoder.py):
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * with \s spelled out as the white space of the reference encoder (JavaScript's \s, the class
 * gpt-3-encoder's regex uses): PCRE2's own \s differs on U+0085 (in PCRE2 only) and U+FEFF
 * (in JavaScript only). \p{L} / \p{N} come from PCRE2's Unicode tables. */
#define WS                                                                                         \
  "\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"             \
  "\\x{205F}\\x{3000}\\x{FEFF}"
static const char gpt2_pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS
                                   "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])|[" WS "]+";

/* Bytes of a token are at most this long (GPT-2's longest token is 128 bytes). */
#define TOKEN_MAX_BYTES 1024
/* Files of a tokenizer are at most this large (GPT-2: vocab.json 1.0 MB, merges.txt 0.5 MB). */
#define TOK_FILE_MAX (256u << 20)

struct mon_tokenizer {
  const mon_tokenizer_ops *ops;
  int vocab_size;
  /* token id -> bytes: tok_bytes + tok_off[id], tok_off[id+1] - tok_off[id] long */
  uint8_t *tok_bytes;
  size_t *tok_off; /* (vocab_size + 1) */
  /* chars */
  int byte_id[256]; /* byte -> id, -1 if absent */
  /* bpe */
  int nmerges;
  uint64_t *pair_key;      /* open-addressing table (pair_cap): (left id + 1) << 32 | right id */
  int32_t *pair_rank;      /* (pair_cap) rank of the merge */
  int32_t *pair_id;        /* (pair_cap) id of the merged symbol */
  size_t pair_cap;         /* power of two */
  size_t *vocab_hash_slot; /* (vocab_cap) id + 1 by hash of its bytes, 0 = empty */
  size_t vocab_cap;
  pcre2_code *re;
};

/* ---------------------------------------------------------------- byte <-> unicode */

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves, the other 68 bytes to
 * U+0100.. in byte order, so every byte has a visible, non-space character. */
static void byte_to_unicode(int cp_of[256]) {
  int n = 0;
  for (int b = 0; b < 256; b++) {
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    cp_of[b] = printable ? b : 256 + n++;
  }
}

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the well-formed UTF-8 sequence at s (Unicode 15, table 3-7), 0 if none. */
static int utf8_len(const uint8_t *s, size_t n, uint32_t *cp) {
  uint8_t c = s[0];
  if (c < 0x80) return *cp = c, 1;
  int len;
  uint32_t v, lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2, v = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    len = 3, v = c & 0x0F, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4)
    len = 4, v = c & 0x07, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
  else
    return 0;
  if ((size_t)len > n) return 0;
  for (int i = 1; i < len; i++) {
    uint8_t t = s[i];
    if (t < (i == 1 ? lo : 0x80) || t > (i == 1 ? hi : 0xBF)) return 0;
    v = v << 6 | (t & 0x3F);
  }
  return *cp = v, len;
}

static int utf8_put(uint32_t cp, uint8_t *o) {
  if (cp < 0x80) return o[0] = (uint8_t)cp, 1;
  if (cp < 0x800) return o[0] = (uint8_t)(0xC0 | cp >> 6), o[1] = (uint8_t)(0x80 | (cp & 63)), 2;
  if (cp < 0x10000) {
    o[0] = (uint8_t)(0xE0 | cp >> 12), o[1] = (uint8_t)(0x80 | (cp >> 6 & 63));
    o[2] = (uint8_t)(0x80 | (cp & 63));
    return 3;
  }
  o[0] = (uint8_t)(0xF0 | cp >> 18), o[1] = (uint8_t)(0x80 | (cp >> 12 & 63));
  o[2] = (uint8_t)(0x80 | (cp >> 6 & 63)), o[3] = (uint8_t)(0x80 | (cp & 63));
  return 4;
}

/* ---------------------------------------------------------------- token table */

static uint64_t bytes_hash(const uint8_t *b, size_t n) {
  uint64_t h = 0x84222325cbf29ce4ULL ^ n;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
  return mon_mix64(h);
}

static const uint8_t *tok_get(const mon_tokenizer *t, int id, size_t *n) {
  *n = t->tok_off[id + 1] - t->tok_off[id];
  return t->tok_bytes + t->tok_off[id];
}

static int vocab_lookup(const mon_tokenizer *t, const uint8_t *b, size_t n) {
  size_t mask = t->vocab_cap - 1;
  for (size_t s = bytes_hash(b, n) & mask;; s = (s + 1) & mask) {
    size_t e = t->vocab_hash_slot[s];
    if (!e) return -1;
    size_t tn;
    const uint8_t *tb = tok_get(t, (int)(e - 1), &tn);
    if (tn == n && !memcmp(tb, b, n)) return (int)(e - 1);
  }
}

static size_t pow2_at_least(size_t n) {
  size_t c = 16;
  while (c < n) c <<= 1;
  return c;
}

/* ---------------------------------------------------------------- common */

int mon_tokenizer_vocab_size(const mon_tokenizer *t) {
  return t->vocab_size;
}
const char *mon_tokenizer_kind(const mon_tokenizer *t) {
  return t->ops->name;
}

const uint8_t *mon_tokenizer_token(const mon_tokenizer *t, int32_t id, size_t *len) {
  if (id < 0 || id >= t->vocab_size) {
    *len = 0;
    return NULL;
  }
  return tok_get(t, id, len);
}

void mon_tokenizer_destroy(mon_tokenizer *t) {
  if (!t) return;
  free(t->tok_bytes), free(t->tok_off);
  free(t->pair_key), free(t->pair_rank), free(t->pair_id), free(t->vocab_hash_slot);
  if (t->re) pcre2_code_free(t->re);
  free(t);
}

int mon_tokenizer_decode(const mon_tokenizer *t, const int32_t *ids, size_t n, uint8_t **out,
                         size_t *len) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= t->vocab_size)
      return mon_fail("tokenizer: id %d at position %zu is outside the vocabulary (0..%d)", ids[i],
                      i, t->vocab_size - 1);
    total += t->tok_off[ids[i] + 1] - t->tok_off[ids[i]];
  }
  uint8_t *o = malloc(total + 1);
  if (!o) return mon_fail("tokenizer: out of memory decoding %zu tokens", n);
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    size_t tn;
    const uint8_t *tb = tok_get(t, ids[i], &tn);
    memcpy(o + at, tb, tn);
    at += tn;
  }
  o[at] = 0;
  *out = o, *len = at;
  return 0;
}

/* Growable id array. */
typedef struct {
  int32_t *v;
  size_t n, cap;
} idvec;

static int idvec_push(idvec *a, int32_t x) {
  if (a->n == a->cap) {
    size_t c = a->cap ? 2 * a->cap : 4096;
    int32_t *v = realloc(a->v, c * sizeof *v);
    if (!v) return mon_fail("tokenizer: out of memory");
    a->v = v, a->cap = c;
  }
  a->v[a->n++] = x;
  return 0;
}

int mon_tokenizer_encode(const mon_tokenizer *t, const uint8_t *text, size_t len, int32_t **ids,
                         size_t *n) {
  return t->ops->encode(t, text, len, ids, n);
}

/* ---------------------------------------------------------------- chars */

static int chars_encode(const mon_tokenizer *t, const uint8_t *text, size_t len, int32_t **ids,
                        size_t *n) {
  int32_t *o = malloc((len ? len : 1) * sizeof *o);
  if (!o) return mon_fail("tokenizer: out of memory for %zu tokens", len);
  for (size_t i = 0; i < len; i++) {
    int id = t->byte_id[text[i]];
    if (id < 0) {
      free(o);
      return mon_fail("tokenizer: byte %d at text offset %zu is not in the character vocabulary",
                      text[i], i);
    }
    o[i] = id;
  }
  *ids = o, *n = len;
  return 0;
}

static const mon_tokenizer_ops chars_ops = {.name = "chars", .encode = chars_encode};

int mon_tokenizer_chars(mon_tokenizer **out, const uint8_t *bytes, int n) {
  *out = NULL;
  if (n < 1 || n > 256) return mon_fail("tokenizer: %d characters, expected 1..256", n);
  mon_tokenizer *t = calloc(1, sizeof *t);
  if (!t || !(t->tok_bytes = malloc((size_t)n)) ||
      !(t->tok_off = malloc(((size_t)n + 1) * sizeof(size_t)))) {
    mon_tokenizer_destroy(t);
    return mon_fail("tokenizer: out of memory");
  }
  t->ops = &chars_ops;
  t->vocab_size = n;
  for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
  for (int i = 0; i < n; i++) {
    if (t->byte_id[bytes[i]] >= 0) {
      int prev = t->byte_id[bytes[i]];
      mon_tokenizer_destroy(t);
      return mon_fail("tokenizer: byte %d occurs twice (token ids %d and %d)", bytes[i], prev, i);
    }
    t->byte_id[bytes[i]] = i;
    t->tok_bytes[i] = bytes[i];
    t->tok_off[i] = (size_t)i;
  }
  t->tok_off[n] = (size_t)n;
  *out = t;
  return 0;
}

/* ---------------------------------------------------------------- bpe */

static int pair_find(const mon_tokenizer *t, int32_t a, int32_t b, int32_t *rank, int32_t *id) {
  uint64_t key = (uint64_t)(a + 1) << 32 | (uint32_t)b;
  size_t mask = t->pair_cap - 1;
  for (size_t s = mon_hash64(key) & mask;; s = (s + 1) & mask) {
    if (!t->pair_key[s]) return 0;
    if (t->pair_key[s] == key) {
      *rank = t->pair_rank[s], *id = t->pair_id[s];
      return 1;
    }
  }
}

/* BPE of one pre-token (its bytes), appending ids to out. sym is scratch of len entries. */
static int bpe_word(const mon_tokenizer *t, const uint8_t *w, size_t len, int32_t *sym,
                    idvec *out) {
  size_t n = len;
  for (size_t i = 0; i < len; i++) sym[i] = t->byte_id[w[i]];
  while (n > 1) {
    int32_t best = INT32_MAX, a = -1, b = -1, mid = -1;
    for (size_t i = 0; i + 1 < n; i++) {
      int32_t r, id;
      if (pair_find(t, sym[i], sym[i + 1], &r, &id) && r < best)
        best = r, a = sym[i], b = sym[i + 1], mid = id;
    }
    if (best == INT32_MAX) break;
    /* merge every occurrence of (a, b), left to right, as GPT-2's bpe() does */
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
      if (i + 1 < n && sym[i] == a && sym[i + 1] == b) {
        sym[o++] = mid;
        i++;
      } else {
        sym[o++] = sym[i];
      }
    }
    n = o;
  }
  for (size_t i = 0; i < n; i++)
    if (idvec_push(out, sym[i])) return -1;
  return 0;
}

/* Shows text to PCRE2 as valid UTF-8: each byte that starts no well-formed sequence becomes
 * U+10FF00 + byte (4 bytes). *map (out_len + 1) gives each output offset's input offset. */
static int escape_invalid(const uint8_t *s, size_t n, uint8_t **out, size_t *out_len,
                          size_t **map) {
  uint8_t *o = malloc(4 * n + 1);
  size_t *m = malloc((4 * n + 1) * sizeof *m), k = 0;
  if (!o || !m) {
    free(o), free(m);
    return mon_fail("tokenizer: out of memory");
  }
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    int l = utf8_len(s + i, n - i, &cp);
    if (l) {
      for (int j = 0; j < l; j++) o[k] = s[i + j], m[k++] = i;
    } else {
      int w = utf8_put(0x10FF00u + s[i], o + k);
      for (int j = 0; j < w; j++) m[k + j] = i;
      k += w;
      l = 1;
    }
    i += l;
  }
  m[k] = n;
  *out = o, *out_len = k, *map = m;
  return 0;
}

static int bpe_encode(const mon_tokenizer *t, const uint8_t *text, size_t len, int32_t **ids,
                      size_t *n) {
  const uint8_t *subj = text;
  uint8_t *esc = NULL;
  size_t slen = len, *map = NULL;
  int valid = 1;
  for (size_t i = 0; i < len && valid;) {
    uint32_t cp;
    int l = utf8_len(text + i, len - i, &cp);
    valid = l > 0;
    i += l;
  }
  if (!valid) {
    if (escape_invalid(text, len, &esc, &slen, &map)) return -1;
    subj = esc;
  }
  idvec out = {0};
  int32_t *sym = NULL;
  size_t symcap = 0;
  int rc = -1;
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(t->re, NULL);
  if (!md) {
    mon_fail("tokenizer: out of memory");
    goto done;
  }
  for (size_t at = 0; at < slen;) {
    int r = pcre2_match(t->re, subj, slen, at, PCRE2_NO_UTF_CHECK, md, NULL);
    if (r < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(r, msg, sizeof msg);
      mon_fail("tokenizer: pre-tokenizer regex at text offset %zu: %s", map ? map[at] : at,
               (const char *)msg);
      goto done;
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    /* the pattern's alternatives cover every character, so matches are contiguous */
    if (ov[0] != at || ov[1] <= ov[0]) {
      mon_fail("tokenizer: pre-tokenizer left text offset %zu unmatched", map ? map[at] : at);
      goto done;
    }
    size_t b0 = map ? map[ov[0]] : ov[0], b1 = map ? map[ov[1]] : ov[1];
    if (b1 - b0 > symcap) {
      symcap = 2 * (b1 - b0);
      free(sym);
      if (!(sym = malloc(symcap * sizeof *sym))) {
        mon_fail("tokenizer: out of memory");
        goto done;
      }
    }
    if (bpe_word(t, text + b0, b1 - b0, sym, &out)) goto done;
    at = ov[1];
  }
  rc = 0;
done:
  if (md) pcre2_match_data_free(md);
  free(sym), free(esc), free(map);
  if (rc) {
    free(out.v);
    return -1;
  }
  if (!out.v && !(out.v = malloc(sizeof(int32_t)))) return mon_fail("tokenizer: out of memory");
  *ids = out.v, *n = out.n;
  return 0;
}

static const mon_tokenizer_ops bpe_ops = {.name = "gpt2-bpe", .encode = bpe_encode};

/* A vocab.json key (byte-to-unicode characters) to raw bytes; -1 if it is not one. */
static int key_bytes(const char *k, const int byte_of_cp[324], uint8_t *o, size_t *n) {
  size_t len = strlen(k), m = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    int l = utf8_len((const uint8_t *)k + i, len - i, &cp);
    if (!l || cp >= 324 || byte_of_cp[cp] < 0 || m >= TOKEN_MAX_BYTES) return -1;
    o[m++] = (uint8_t)byte_of_cp[cp];
    i += l;
  }
  *n = m;
  return m ? 0 : -1;
}

static int load_vocab(mon_tokenizer *t, const char *path, const int byte_of_cp[324]) {
  size_t len;
  char *txt = mon_read_file(path, TOK_FILE_MAX, "a tokenizer file", &len);
  if (!txt) return -1;
  cJSON *root = cJSON_ParseWithLength(txt, len);
  free(txt);
  if (!root || !cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return mon_fail("%s: not a JSON object (expected GPT-2's vocab.json: token -> id)", path);
  }
  int V = cJSON_GetArraySize(root), rc = -1;
  size_t total = 0;
  uint8_t buf[TOKEN_MAX_BYTES];
  t->vocab_size = V;
  t->tok_off = calloc((size_t)V + 1, sizeof(size_t));
  size_t *len_of = calloc((size_t)V, sizeof(size_t));
  int *seen = calloc((size_t)V, sizeof(int));
  if (!t->tok_off || !len_of || !seen) {
    mon_fail("%s: out of memory", path);
    goto out;
  }
  for (const cJSON *e = root->child; e; e = e->next) { /* pass 1: ids and lengths */
    size_t n;
    double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
    if (d < 0 || d >= V || d != (int)d) {
      mon_fail("%s: token \"%.40s\": id must be an integer in 0..%d", path, e->string, V - 1);
      goto out;
    }
    if (key_bytes(e->string, byte_of_cp, buf, &n)) {
      mon_fail("%s: token \"%.40s\" is not spelled in GPT-2's byte-to-unicode alphabet", path,
               e->string);
      goto out;
    }
    if (seen[(int)d]++) {
      mon_fail("%s: id %d is given to two tokens (second: \"%.40s\")", path, (int)d, e->string);
      goto out;
    }
    len_of[(int)d] = n;
    total += n;
  }
  t->tok_bytes = malloc(total ? total : 1);
  t->vocab_cap = pow2_at_least(2 * (size_t)V);
  t->vocab_hash_slot = calloc(t->vocab_cap, sizeof(size_t));
  if (!t->tok_bytes || !t->vocab_hash_slot) {
    mon_fail("%s: out of memory", path);
    goto out;
  }
  for (int i = 0; i < V; i++) t->tok_off[i + 1] = t->tok_off[i] + len_of[i];
  for (const cJSON *e = root->child; e; e = e->next) { /* pass 2: bytes and hash */
    size_t n;
    int id = (int)e->valuedouble;
    key_bytes(e->string, byte_of_cp, buf, &n);
    memcpy(t->tok_bytes + t->tok_off[id], buf, n);
    if (vocab_lookup(t, buf, n) >= 0) {
      mon_fail("%s: token \"%.40s\" occurs twice", path, e->string);
      goto out;
    }
    size_t mask = t->vocab_cap - 1, s = bytes_hash(buf, n) & mask;
    while (t->vocab_hash_slot[s]) s = (s + 1) & mask;
    t->vocab_hash_slot[s] = (size_t)id + 1;
  }
  for (int b = 0; b < 256; b++) {
    uint8_t c = (uint8_t)b;
    if ((t->byte_id[b] = vocab_lookup(t, &c, 1)) < 0) {
      mon_fail("%s: byte %d has no token (a byte-level BPE vocabulary holds all 256)", path, b);
      goto out;
    }
  }
  rc = 0;
out:
  free(len_of), free(seen);
  cJSON_Delete(root);
  return rc;
}

static int load_merges(mon_tokenizer *t, const char *path, const int byte_of_cp[324]) {
  size_t len;
  char *txt = mon_read_file(path, TOK_FILE_MAX, "a tokenizer file", &len);
  if (!txt) return -1;
  size_t lines = 1;
  for (size_t i = 0; i < len; i++) lines += txt[i] == '\n';
  t->pair_cap = pow2_at_least(2 * lines);
  t->pair_key = calloc(t->pair_cap, sizeof(uint64_t));
  t->pair_rank = malloc(t->pair_cap * sizeof(int32_t));
  t->pair_id = malloc(t->pair_cap * sizeof(int32_t));
  int rc = -1, lineno = 0;
  if (!t->pair_key || !t->pair_rank || !t->pair_id) {
    mon_fail("%s: out of memory", path);
    goto out;
  }
  char *save = NULL;
  for (char *ln = txt; ln && *ln; ln = save) {
    char *nl = strchr(ln, '\n');
    save = nl ? nl + 1 : NULL;
    if (nl) *nl = 0;
    lineno++;
    size_t ll = strlen(ln);
    if (ll && ln[ll - 1] == '\r') ln[--ll] = 0;
    if (!ll || (lineno == 1 && !strncmp(ln, "#version", 8))) continue;
    char *sp = strchr(ln, ' ');
    if (!sp || sp == ln || !sp[1] || strchr(sp + 1, ' ')) {
      mon_fail("%s:%d: expected two tokens separated by one space", path, lineno);
      goto out;
    }
    *sp = 0;
    uint8_t a[TOKEN_MAX_BYTES], b[TOKEN_MAX_BYTES], ab[2 * TOKEN_MAX_BYTES];
    size_t na, nb;
    if (key_bytes(ln, byte_of_cp, a, &na) || key_bytes(sp + 1, byte_of_cp, b, &nb)) {
      mon_fail("%s:%d: token not spelled in GPT-2's byte-to-unicode alphabet", path, lineno);
      goto out;
    }
    memcpy(ab, a, na), memcpy(ab + na, b, nb);
    int ia = vocab_lookup(t, a, na), ib = vocab_lookup(t, b, nb),
        iab = vocab_lookup(t, ab, na + nb);
    if (ia < 0 || ib < 0 || iab < 0) {
      mon_fail("%s:%d: merge \"%s %s\": %s is not in vocab.json", path, lineno, ln, sp + 1,
               ia < 0   ? "the left token"
               : ib < 0 ? "the right token"
                        : "the merged token");
      goto out;
    }
    int32_t r0, i0;
    if (pair_find(t, ia, ib, &r0, &i0)) continue; /* a repeated merge keeps its first rank */
    uint64_t key = (uint64_t)(ia + 1) << 32 | (uint32_t)ib;
    size_t mask = t->pair_cap - 1, s = mon_hash64(key) & mask;
    while (t->pair_key[s]) s = (s + 1) & mask;
    t->pair_key[s] = key, t->pair_rank[s] = t->nmerges++, t->pair_id[s] = iab;
  }
  rc = 0;
out:
  free(txt);
  return rc;
}

int mon_tokenizer_bpe_load(mon_tokenizer **out, const char *vocab_json, const char *merges_txt) {
  *out = NULL;
  mon_tokenizer *t = calloc(1, sizeof *t);
  if (!t) return mon_fail("tokenizer: out of memory");
  t->ops = &bpe_ops;
  int cp_of[256], byte_of_cp[324];
  byte_to_unicode(cp_of);
  for (int i = 0; i < 324; i++) byte_of_cp[i] = -1;
  for (int b = 0; b < 256; b++) byte_of_cp[cp_of[b]] = b;
  if (load_vocab(t, vocab_json, byte_of_cp) || load_merges(t, merges_txt, byte_of_cp)) {
    mon_tokenizer_destroy(t);
    return -1;
  }
  int err;
  PCRE2_SIZE eoff;
  t->re =
      pcre2_compile((PCRE2_SPTR)gpt2_pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &eoff, NULL);
  if (!t->re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    mon_tokenizer_destroy(t);
    return mon_fail("tokenizer: PCRE2 rejects GPT-2's pattern at %zu: %s", (size_t)eoff,
                    (const char *)msg);
  }
  pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE); /* optional: the interpreter is the fallback */
  *out = t;
  return 0;
}

/* ---------------------------------------------------------------- save */

static int add_token_id(cJSON *o, const char *key, int id) {
  return cJSON_AddNumberToObject(o, key, id) != NULL;
}

int mon_tokenizer_save(const mon_tokenizer *t, const char *dir) {
  if (t->ops != &bpe_ops) return 0; /* the character vocabulary lives in the safetensors header */
  int cp_of[256];
  byte_to_unicode(cp_of);
  char path[4096];
  /* vocab.json */
  cJSON *o = cJSON_CreateObject();
  char key[4 * TOKEN_MAX_BYTES + 1];
  int ok = o != NULL;
  for (int id = 0; ok && id < t->vocab_size; id++) {
    size_t n, k = 0;
    const uint8_t *b = tok_get(t, id, &n);
    for (size_t i = 0; i < n; i++) k += (size_t)utf8_put((uint32_t)cp_of[b[i]], (uint8_t *)key + k);
    key[k] = 0;
    ok = add_token_id(o, key, id);
  }
  char *txt = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!txt) return mon_fail("%s: out of memory writing vocab.json", dir);
  snprintf(path, sizeof path, "%s/vocab.json", dir);
  const void *parts[1] = {txt};
  size_t lens[1] = {strlen(txt)};
  int rc = mon_write_atomic(path, 1, parts, lens);
  free(txt);
  if (rc) return -1;
  /* merges.txt, in rank order */
  int32_t *by_rank = malloc((size_t)t->nmerges * 2 * sizeof(int32_t));
  size_t cap = 64 + (size_t)t->nmerges * 2 * (4 * 64 + 2), at = 0;
  char *m = malloc(cap);
  if (!by_rank || !m) {
    free(by_rank), free(m);
    return mon_fail("%s: out of memory writing merges.txt", dir);
  }
  for (size_t s = 0; s < t->pair_cap; s++)
    if (t->pair_key[s]) {
      int32_t r = t->pair_rank[s];
      by_rank[2 * r] = (int32_t)(t->pair_key[s] >> 32) - 1;
      by_rank[2 * r + 1] = (int32_t)(t->pair_key[s] & 0xffffffffu);
    }
  at += (size_t)snprintf(m, cap, "#version: 0.2\n");
  for (int r = 0; r < t->nmerges && !rc; r++)
    for (int side = 0; side < 2; side++) {
      size_t n;
      const uint8_t *b = tok_get(t, by_rank[2 * r + side], &n);
      if (at + 4 * n + 2 > cap) {
        char *g = realloc(m, cap *= 2);
        if (!g) {
          rc = mon_fail("%s: out of memory writing merges.txt", dir);
          break;
        }
        m = g;
      }
      for (size_t i = 0; i < n; i++)
        at += (size_t)utf8_put((uint32_t)cp_of[b[i]], (uint8_t *)m + at);
      m[at++] = side ? '\n' : ' ';
    }
  if (!rc) {
    snprintf(path, sizeof path, "%s/merges.txt", dir);
    const void *mp[1] = {m};
    size_t ml[1] = {at};
    rc = mon_write_atomic(path, 1, mp, ml);
  }
  free(by_rank), free(m);
  return rc;
}

int mon_tokenizer_dir_has_bpe(const char *dir) {
  char p[4096];
  struct stat sb;
  snprintf(p, sizeof p, "%s/vocab.json", dir);
  if (stat(p, &sb)) return 0;
  snprintf(p, sizeof p, "%s/merges.txt", dir);
  return !stat(p, &sb);
}

int mon_tokenizer_load_dir(mon_tokenizer **out, const char *dir) {
  char v[4096], m[4096];
  if ((size_t)snprintf(v, sizeof v, "%s/vocab.json", dir) >= sizeof v ||
      (size_t)snprintf(m, sizeof m, "%s/merges.txt", dir) >= sizeof m)
    return mon_fail("%s: path too long", dir);
  return mon_tokenizer_bpe_load(out, v, m);
}
