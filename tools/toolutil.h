/*
 * toolutil.h -- small helpers the command-line tools share.
 */
#ifndef NF_TOOLS_TOOLUTIL_H
#define NF_TOOLS_TOOLUTIL_H

#include <stdbool.h>
#include <stdio.h>

#include <newsfeed/newsfeed.h>

/* Prints "PROG: message" to stderr and exits with CODE. */
void nf_die(const char *prog, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* Parses a non-negative decimal; exits with a message on garbage. */
long long nf_parse_count(const char *prog, const char *flag, const char *s);
/* Reads a whole file (or stdin for "-") into B; returns 0 or -1 (errno). */
int nf_read_all(const char *path, nf_buf *b);
bool nf_has_suffix(const char *s, const char *suffix);

/* A YAML node as JSON, plain scalars typed by the YAML core schema (so
 * `priority: 1` is a number and `title: "2025"` stays a string). */
struct nf_ynode;
struct json_t;
struct json_t *nf_yaml_to_json(const struct nf_ynode *n);

#endif
