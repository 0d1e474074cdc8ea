/*
 * benchutil.c -- helpers shared by the newsfeed-bench subcommands (bench.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "toolutil.h"

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

double bench_clock_overhead(void) {
  enum { N = 2001 };
  double d[N];
  for (int i = 0; i < N; i++) {
    double a = bench_now();
    d[i] = bench_now() - a;
  }
  qsort(d, N, sizeof *d, cmp_double);
  return d[N / 2];
}

uint64_t bench_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint32_t bench_below(uint64_t *state, uint32_t n) {
  return (uint32_t)(((bench_rand(state) >> 32) * (uint64_t)n) >> 32);
}

double bench_median(const double *v, size_t n) {
  if (n == 0) return NAN;
  double *c = bench_xmalloc(n * sizeof *c);
  memcpy(c, v, n * sizeof *c);
  qsort(c, n, sizeof *c, cmp_double);
  double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
  free(c);
  return m;
}

double bench_quantile(float *v, size_t n, double p) {
  if (n == 0) return 0;
  qsort(v, n, sizeof *v, cmp_float);
  size_t k = (size_t)ceil(p * (double)n);
  if (k > 0) k--;
  if (k >= n) k = n - 1;
  return v[k];
}

void bench_samples_push(bench_samples *s, float x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 4096;
    s->v = bench_xrealloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n++] = x;
}

void bench_samples_free(bench_samples *s) {
  free(s->v);
  *s = (bench_samples){0};
}

void *bench_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) nf_die(BENCH_PROG, 1, "out of memory");
  return p;
}

void *bench_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) nf_die(BENCH_PROG, 1, "out of memory");
  return p;
}

void *bench_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) nf_die(BENCH_PROG, 1, "out of memory");
  return q;
}

void bench_machine_get(bench_machine *m) {
  snprintf(m->cpu, sizeof m->cpu, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "model name", 10) != 0) continue;
      char *v = strchr(line, ':');
      if (!v) continue;
      v++;
      while (*v == ' ' || *v == '\t') v++;
      v[strcspn(v, "\n")] = 0;
      snprintf(m->cpu, sizeof m->cpu, "%s", v);
      break;
    }
    fclose(f);
  }
  m->nproc = sysconf(_SC_NPROCESSORS_ONLN);
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  m->ram_gib = pages > 0 && psize > 0 ? (double)pages * (double)psize / (1024.0 * 1024 * 1024) : 0;
}

void bench_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

void bench_json_number(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fputs("null", f);
}
