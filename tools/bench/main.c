/*
 * newsfeed-bench -- benchmarks of newsfeed's parts, one subcommand each.
 *
 *   newsfeed-bench tag [OPTIONS]    the matcher and the tagger (tag.c)
 *   newsfeed-bench load [OPTIONS]   against a running newsfeedd (load.c)
 *   newsfeed-bench peer [OPTIONS]   the same through NATS, MQTT, nng (peer.c)
 *
 * Subcommands live in their own files and register in the table below;
 * this file only dispatches.
 */
#include <stdio.h>
#include <string.h>

#include <newsfeed/newsfeed.h>

#include "bench.h"
#include "toolutil.h"

int nf_bench_load(int argc, char **argv); /* load.c */
int nf_bench_peer(int argc, char **argv); /* peer.c */

static const struct command {
  const char *name;
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand */
  const char *summary;
} commands[] = {
    {"tag", nf_bench_tag, "matcher and tagger speed on a generated news corpus"},
    {"load", nf_bench_load, "producers and subscribers against a running newsfeedd"},
    {"peer", nf_bench_peer, "the load workloads through NATS, Mosquitto or raw nng"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
  fprintf(f, "usage: newsfeed-bench COMMAND [OPTIONS]\n\nCommands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n`newsfeed-bench COMMAND --help` describes each command's options.\n"
             "  -h, --help     show this help\n"
             "      --version  show the version\n");
}

int main(int argc, char **argv) {
  if (argc < 2) nf_die(BENCH_PROG, 2, "name a command (see --help)");
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("newsfeed-bench %s\n", nf_version());
    return 0;
  }
  if (cmd[0] == '-') nf_die(BENCH_PROG, 2, "unknown option '%s' (see --help)", cmd);
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  nf_die(BENCH_PROG, 2, "unknown command '%s' (see --help)", cmd);
}
