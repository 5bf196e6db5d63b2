/* Command stream files: a text format (one command a line) and a compact binary one. */
#include "mapping.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static const char *dig_names[] = {"BARRIER", "ZERO", "BIAS"};

int map_stream_write_text(const map_stream *cs, FILE *f) {
  fprintf(f,
          "# moncim CIM command stream v1: %d commands (%d PROGRAM prefix), %d MVMs per token, "
          "buffer %lld floats\n",
          cs->ncmds, cs->nprogram, cs->nmvm, (long long)cs->buf_len);
  fprintf(f, "# io <layer> x=<addr> y=<addr> in=<n> out=<n> first=<id> last=<id>\n");
  for (int l = 0; l < cs->nlayers; l++) {
    const map_io *io = &cs->io[l];
    fprintf(f, "io %d x=%lld y=%lld in=%d out=%d first=%d last=%d\n", l, (long long)io->x,
            (long long)io->y, io->in, io->out, io->first, io->last);
  }
  fprintf(f, "# <id> <OP> sub=<s> a=<array> r=<row0>+<nrows> c=<col0>+<ncols> src=<addr> "
             "dst=<addr> n=<count> stride=<floats> L=<layer> f=<factor> p=<piece> mvm=<step> "
             "deps=<id,id,...|->\n");
  for (int i = 0; i < cs->ncmds; i++) {
    const map_cmd *c = &cs->cmd[i];
    const char *sub =
        c->op == MAP_OP_DIGITAL && c->sub >= 0 && c->sub <= MAP_DIG_BIAS ? dig_names[c->sub] : "-";
    fprintf(f,
            "%d %s sub=%s a=%d r=%d+%d c=%d+%d src=%lld dst=%lld n=%d stride=%lld L=%d f=%d "
            "p=%d mvm=%d deps=",
            i, map_op_name(c->op), sub, c->array, c->row0, c->nrows, c->col0, c->ncols,
            (long long)c->src, (long long)c->dst, c->count, (long long)c->stride, c->layer,
            c->factor, c->piece, c->step);
    if (!c->ndeps) fputc('-', f);
    for (int k = 0; k < c->ndeps; k++) fprintf(f, k ? ",%d" : "%d", cs->dep[c->dep0 + k]);
    fputc('\n', f);
  }
  return ferror(f) ? mon_fail("trace: write error") : 0;
}

/* little-endian scalar writers/readers (independent of the host's byte order) */
static void put(FILE *f, uint64_t v, int nbytes) {
  unsigned char b[8];
  for (int i = 0; i < nbytes; i++) b[i] = (unsigned char)(v >> (8 * i));
  fwrite(b, 1, (size_t)nbytes, f);
}

static int get(FILE *f, int nbytes, uint64_t *v) {
  unsigned char b[8];
  if (fread(b, 1, (size_t)nbytes, f) != (size_t)nbytes) return -1;
  *v = 0;
  for (int i = 0; i < nbytes; i++) *v |= (uint64_t)b[i] << (8 * i);
  return 0;
}

#define MAP_TRACE_MAGIC   "MONCIMTR"
#define MAP_TRACE_VERSION 1
/* one command record: 13 x int32 + 4 x int64 = 84 bytes (docs/mapping.md) */

static void put_cmd(FILE *f, const map_cmd *c) {
  put(f, (uint32_t)c->op, 4);
  put(f, (uint32_t)c->sub, 4);
  put(f, (uint32_t)c->array, 4);
  put(f, (uint32_t)c->row0, 4);
  put(f, (uint32_t)c->nrows, 4);
  put(f, (uint32_t)c->col0, 4);
  put(f, (uint32_t)c->ncols, 4);
  put(f, (uint64_t)c->src, 8);
  put(f, (uint64_t)c->dst, 8);
  put(f, (uint32_t)c->count, 4);
  put(f, (uint64_t)c->stride, 8);
  put(f, (uint32_t)c->layer, 4);
  put(f, (uint32_t)c->factor, 4);
  put(f, (uint32_t)c->piece, 4);
  put(f, (uint32_t)c->step, 4);
  put(f, (uint32_t)c->ndeps, 4);
  put(f, (uint64_t)c->dep0, 8); /* 4*13 + 8*4 = 84 bytes */
}

int map_stream_write_binary(const map_stream *cs, FILE *f) {
  fwrite(MAP_TRACE_MAGIC, 1, 8, f);
  put(f, MAP_TRACE_VERSION, 4);
  put(f, (uint32_t)cs->ncmds, 4);
  put(f, (uint32_t)cs->nprogram, 4);
  put(f, (uint32_t)cs->nmvm, 4);
  put(f, (uint64_t)cs->ndeps, 8);
  put(f, (uint64_t)cs->buf_len, 8);
  put(f, (uint32_t)cs->nlayers, 4);
  for (int l = 0; l < cs->nlayers; l++) {
    const map_io *io = &cs->io[l];
    put(f, (uint64_t)io->x, 8);
    put(f, (uint64_t)io->y, 8);
    put(f, (uint32_t)io->in, 4);
    put(f, (uint32_t)io->out, 4);
    put(f, (uint32_t)io->first, 4);
    put(f, (uint32_t)io->last, 4);
  }
  for (int i = 0; i < cs->ncmds; i++) put_cmd(f, &cs->cmd[i]);
  for (int64_t i = 0; i < cs->ndeps; i++) put(f, (uint32_t)cs->dep[i], 4);
  return ferror(f) ? mon_fail("trace: write error") : 0;
}

#define GET(n, dst, T)                                                                             \
  do {                                                                                             \
    uint64_t v_;                                                                                   \
    if (get(f, n, &v_)) goto trunc;                                                                \
    dst = (T)(n == 4 ? (int64_t)(int32_t)(uint32_t)v_ : (int64_t)v_);                              \
  } while (0)

int map_stream_read_binary(map_stream *cs, FILE *f, const char *origin) {
  memset(cs, 0, sizeof *cs);
  char magic[8];
  uint32_t version;
  if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAP_TRACE_MAGIC, 8))
    return mon_fail("%s: not a moncim binary trace (magic MONCIMTR expected)", origin);
  GET(4, version, uint32_t);
  if (version != MAP_TRACE_VERSION)
    return mon_fail("%s: trace version %u, expected %d", origin, version, MAP_TRACE_VERSION);
  GET(4, cs->ncmds, int32_t);
  GET(4, cs->nprogram, int32_t);
  GET(4, cs->nmvm, int32_t);
  GET(8, cs->ndeps, int64_t);
  GET(8, cs->buf_len, int64_t);
  GET(4, cs->nlayers, int);
  if (cs->ncmds < 0 || cs->nprogram < 0 || cs->nprogram > cs->ncmds || cs->ndeps < 0 ||
      cs->nlayers < 0 || cs->buf_len < 0)
    return mon_fail("%s: header counts are negative or inconsistent", origin);
  /* The header's counts fix the file's length: check it before allocating what they claim
   * (a corrupt header would otherwise ask for gigabytes). Unseekable streams skip the check
   * and rely on the truncation check below. */
  off_t here = ftello(f);
  if (here >= 0 && fseeko(f, 0, SEEK_END) == 0) {
    off_t end = ftello(f);
    if (fseeko(f, here, SEEK_SET)) return mon_fail("%s: cannot seek", origin);
    /* io record 32 bytes, command record 84 bytes, dependency 4 bytes (docs/mapping.md) */
    double need = 32.0 * cs->nlayers + 84.0 * cs->ncmds + 4.0 * (double)cs->ndeps;
    if (need > (double)(end - here))
      return mon_fail("%s: header claims %d layers, %d commands and %lld dependencies (%.0f "
                      "bytes) but the file holds %lld bytes after it",
                      origin, cs->nlayers, cs->ncmds, (long long)cs->ndeps, need,
                      (long long)(end - here));
  }
  cs->io = calloc((size_t)cs->nlayers + 1, sizeof *cs->io);
  cs->cmd = calloc((size_t)cs->ncmds + 1, sizeof *cs->cmd);
  cs->dep = calloc((size_t)cs->ndeps + 1, sizeof *cs->dep);
  if (!cs->io || !cs->cmd || !cs->dep) {
    map_stream_destroy(cs);
    return mon_fail("%s: out of memory for %d commands", origin, cs->ncmds);
  }
  for (int l = 0; l < cs->nlayers; l++) {
    map_io *io = &cs->io[l];
    GET(8, io->x, int64_t);
    GET(8, io->y, int64_t);
    GET(4, io->in, int);
    GET(4, io->out, int);
    GET(4, io->first, int32_t);
    GET(4, io->last, int32_t);
  }
  for (int i = 0; i < cs->ncmds; i++) {
    map_cmd *c = &cs->cmd[i];
    GET(4, c->op, int32_t);
    GET(4, c->sub, int32_t);
    GET(4, c->array, int32_t);
    GET(4, c->row0, int32_t);
    GET(4, c->nrows, int32_t);
    GET(4, c->col0, int32_t);
    GET(4, c->ncols, int32_t);
    GET(8, c->src, int64_t);
    GET(8, c->dst, int64_t);
    GET(4, c->count, int32_t);
    GET(8, c->stride, int64_t);
    GET(4, c->layer, int32_t);
    GET(4, c->factor, int32_t);
    GET(4, c->piece, int32_t);
    GET(4, c->step, int32_t);
    GET(4, c->ndeps, int32_t);
    GET(8, c->dep0, int64_t);
    if (c->op < 0 || c->op >= MAP_NOPS || c->ndeps < 0 || c->dep0 < 0 || c->dep0 > cs->ndeps ||
        c->ndeps > cs->ndeps - c->dep0) {
      map_stream_destroy(cs);
      return mon_fail("%s: command %d: opcode or dependency range invalid", origin, i);
    }
  }
  for (int64_t i = 0; i < cs->ndeps; i++) GET(4, cs->dep[i], int32_t);
  return 0;
trunc:
  map_stream_destroy(cs);
  return mon_fail("%s: truncated binary trace", origin);
}
