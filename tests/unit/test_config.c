/*
 * test_config.c -- unit tests for newsfeedd's configuration loader
 * (src/daemon/config.c): built-in defaults, the shipped
 * conf/newsfeedd.yaml, partial files, FILE:LINE:COL errors, path
 * resolution and the cross-field checks of nfd_config_check.
 *
 * Config files are written into a mkdtemp directory made by the group
 * setup; each test removes what it wrote, the teardown the directory.
 * NF_SOURCE_ROOT (set by tests/meson.build) locates conf/newsfeedd.yaml.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config.h"

#ifndef NF_SOURCE_ROOT
#error "NF_SOURCE_ROOT must name the source tree (see tests/meson.build)"
#endif

static char tmpdir[64];

static int make_tmpdir(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/nf-test-config.XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state) {
  (void)state;
  return rmdir(tmpdir);
}

/* Writes TEXT to tmpdir/NAME; PATH gets the full name. */
static void write_file(const char *name, const char *text, char *path, size_t n) {
  snprintf(path, n, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

/* Loads TEXT as a config file; returns nfd_config_load's result. */
static int load_text(nfd_config *c, const char *text, char *err, size_t errsz) {
  char path[256];
  write_file("newsfeedd.yaml", text, path, sizeof path);
  int rc = nfd_config_load(c, path, err, errsz);
  unlink(path);
  return rc;
}

/* Loading TEXT fails with "PATH:LINE:COL: ..." containing WANT. */
static void expect_error(const char *text, int line, int col, const char *want) {
  nfd_config c;
  char err[512], prefix[320];
  assert_int_equal(load_text(&c, text, err, sizeof err), -1);
  nfd_config_free(&c);
  snprintf(prefix, sizeof prefix, "%s/newsfeedd.yaml:%d:%d: ", tmpdir, line, col);
  if (strncmp(err, prefix, strlen(prefix)))
    fail_msg("error '%s' does not start with '%s'", err, prefix);
  if (!strstr(err, want)) fail_msg("error '%s' does not mention '%s'", err, want);
}

static void assert_list(const nfd_strlist *l, const char *one) {
  assert_int_equal(l->n, 1);
  assert_string_equal(l->v[0], one);
}

/* Everything but the paths, which depend on where they were set. */
static void assert_same_settings(const nfd_config *a, const nfd_config *b) {
  assert_int_equal(a->ingest_listen.n, b->ingest_listen.n);
  for (size_t i = 0; i < a->ingest_listen.n; i++)
    assert_string_equal(a->ingest_listen.v[i], b->ingest_listen.v[i]);
  assert_int_equal(a->max_item_bytes, b->max_item_bytes);
  assert_int_equal(a->max_pending_bytes, b->max_pending_bytes);
  assert_int_equal(a->max_connections, b->max_connections);
  assert_int_equal(a->ipc_mode, b->ipc_mode);
  assert_int_equal(a->publish_listen.n, b->publish_listen.n);
  for (size_t i = 0; i < a->publish_listen.n; i++)
    assert_string_equal(a->publish_listen.v[i], b->publish_listen.v[i]);
  assert_int_equal(a->publish_batch, b->publish_batch);
  assert_int_equal(a->send_buffer, b->send_buffer);
  assert_string_equal(a->metrics_listen, b->metrics_listen);
  assert_int_equal(a->log_level, b->log_level);
}

static void assert_defaults(const nfd_config *c) {
  assert_list(&c->ingest_listen, "tcp://127.0.0.1:7450");
  assert_int_equal(c->max_item_bytes, 1048576);
  assert_int_equal(c->max_pending_bytes, 1048576);
  assert_int_equal(c->max_connections, 1024);
  assert_int_equal(c->ipc_mode, 0660);
  assert_list(&c->publish_listen, "tcp://127.0.0.1:7451");
  assert_true(c->publish_batch);
  assert_int_equal(c->send_buffer, 8192);
  assert_string_equal(c->metrics_listen, "http://127.0.0.1:7453/metrics");
  assert_string_equal(c->tls_cert.value, "");
  assert_string_equal(c->tls_key.value, "");
  assert_int_equal(c->log_level, NFD_INFO);
  assert_string_equal(c->nats_url, ""); /* the NATS bridge is off */
  assert_string_equal(c->nats_subject_prefix, "news");
  assert_int_equal(c->nats_buffer_bytes, 8 << 20);
  assert_int_equal(c->nats_reconnect_ms, 1000);
  assert_int_equal(c->nats_flush_ms, 2000);
}

/* ---- defaults ------------------------------------------------------------ */

static void test_builtin_defaults(void **state) {
  (void)state;
  nfd_config c;
  char err[256];
  assert_int_equal(nfd_config_load(&c, NULL, err, sizeof err), 0);
  assert_defaults(&c);
  assert_null(c.file);
  assert_string_equal(c.rules.value, "rules.yaml");
  assert_true(c.rules.builtin);
  assert_true(c.tls_cert.builtin);
  assert_int_equal(nfd_config_check(&c, err, sizeof err), 0);
  nfd_config_free(&c);
}

static void test_shipped_file_equals_builtin_defaults(void **state) {
  (void)state;
  const char *path = NF_SOURCE_ROOT "/conf/newsfeedd.yaml";
  nfd_config d, f;
  char err[512];
  assert_int_equal(nfd_config_load(&d, NULL, err, sizeof err), 0);
  if (nfd_config_load(&f, path, err, sizeof err) != 0) fail_msg("%s", err);
  assert_same_settings(&d, &f);
  assert_defaults(&f);
  assert_string_equal(f.file, path);
  /* the same relative name, resolved beside the file that names it */
  assert_string_equal(f.rules.value, NF_SOURCE_ROOT "/conf/rules.yaml");
  assert_false(f.rules.builtin);
  assert_string_equal(f.tls_cert.value, d.tls_cert.value);
  assert_string_equal(f.tls_key.value, d.tls_key.value);
  assert_int_equal(nfd_config_check(&f, err, sizeof err), 0);
  nfd_config_free(&d);
  nfd_config_free(&f);
}

static void test_partial_file_keeps_other_defaults(void **state) {
  (void)state;
  nfd_config c, d;
  char err[512];
  if (load_text(&c, "publish: {batch: false}\n", err, sizeof err) != 0) fail_msg("%s", err);
  assert_int_equal(nfd_config_load(&d, NULL, err, sizeof err), 0);
  assert_false(c.publish_batch);
  d.publish_batch = false;
  assert_same_settings(&c, &d);
  assert_list(&c.publish_listen, "tcp://127.0.0.1:7451");
  assert_true(c.rules.builtin);
  assert_string_equal(c.rules.value, "rules.yaml");
  nfd_config_free(&c);
  nfd_config_free(&d);
}

static void test_empty_and_comment_only_files_keep_defaults(void **state) {
  (void)state;
  const char *texts[] = {"", "# nothing to change\n", "---\n", "~\n"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    nfd_config c;
    char err[512];
    if (load_text(&c, texts[i], err, sizeof err) != 0) fail_msg("'%s': %s", texts[i], err);
    assert_defaults(&c);
    assert_true(c.rules.builtin);
    nfd_config_free(&c);
  }
}

static void test_every_key_can_be_set(void **state) {
  (void)state;
  nfd_config c;
  char err[512];
  const char *text = "ingest:\n"
                     "  listen: [tcp://0.0.0.0:9000, ipc:///run/newsfeed/ingest.sock]\n"
                     "  max_item_bytes: 65536\n"
                     "  max_pending_bytes: 8192\n"
                     "  max_connections: 10\n"
                     "  ipc_mode: \"0600\"\n"
                     "publish:\n"
                     "  listen:\n"
                     "    - tcp://0.0.0.0:9001\n"
                     "    - ws://0.0.0.0:9002/feed\n"
                     "  batch: off\n"
                     "  send_buffer: 16\n"
                     "metrics:\n"
                     "  listen: \"off\"\n"
                     "log:\n"
                     "  level: debug\n";
  if (load_text(&c, text, err, sizeof err) != 0) fail_msg("%s", err);
  assert_int_equal(c.ingest_listen.n, 2);
  assert_string_equal(c.ingest_listen.v[1], "ipc:///run/newsfeed/ingest.sock");
  assert_int_equal(c.max_item_bytes, 65536);
  assert_int_equal(c.max_pending_bytes, 8192);
  assert_int_equal(c.max_connections, 10);
  assert_int_equal(c.ipc_mode, 0600);
  assert_int_equal(c.publish_listen.n, 2);
  assert_string_equal(c.publish_listen.v[1], "ws://0.0.0.0:9002/feed");
  assert_false(c.publish_batch);
  assert_int_equal(c.send_buffer, 16);
  assert_string_equal(c.metrics_listen, "off");
  assert_int_equal(c.log_level, NFD_DEBUG);
  assert_int_equal(nfd_config_check(&c, err, sizeof err), 0);
  nfd_config_free(&c);
}

static void test_listen_scalar_is_a_one_element_list(void **state) {
  (void)state;
  nfd_config c;
  char err[512];
  if (load_text(&c, "ingest:\n  listen: ipc:///tmp/nf.sock\n", err, sizeof err) != 0)
    fail_msg("%s", err);
  assert_list(&c.ingest_listen, "ipc:///tmp/nf.sock");
  nfd_config_free(&c);
}

static void test_missing_file_fails_naming_it(void **state) {
  (void)state;
  nfd_config c;
  char err[512], path[256];
  snprintf(path, sizeof path, "%s/does-not-exist.yaml", tmpdir);
  assert_int_equal(nfd_config_load(&c, path, err, sizeof err), -1);
  assert_non_null(strstr(err, path));
  nfd_config_free(&c);
}

/* ---- errors at FILE:LINE:COL --------------------------------------------- */

static void test_error_unknown_top_level_key(void **state) {
  (void)state;
  expect_error("log:\n  level: info\ningress:\n  listen: [tcp://127.0.0.1:1]\n", 3, 1,
               "unknown key 'ingress'");
}

static void test_error_unknown_nested_key_names_dotted_path(void **state) {
  (void)state;
  expect_error("ingest:\n  lisen: tcp://127.0.0.1:7450\n", 2, 3, "'ingest.lisen'");
  expect_error("publish: {batch: true, bach: false}\n", 1, 24, "'publish.bach'");
}

static void test_error_list_where_scalar_expected(void **state) {
  (void)state;
  expect_error("publish:\n  batch: [true]\n", 2, 10, "publish.batch");
  expect_error("log:\n  level:\n    - info\n", 3, 5, "log.level");
  expect_error("metrics:\n  listen: {url: x}\n", 2, 11, "metrics.listen");
}

static void test_error_map_where_section_expected(void **state) {
  (void)state;
  expect_error("ingest: 5\n", 1, 9, "ingest");
  expect_error("ingest:\n  listen:\n    - {a: 1}\n", 3, 7, "ingest.listen");
}

static void test_error_non_scalar_key(void **state) {
  (void)state;
  expect_error("? [a]\n: 1\n", 1, 3, "keys must be plain names");
  expect_error("log:\n  ? {level: info}\n  : x\n", 2, 5, "keys must be plain names");
}

static void test_error_string_for_integer(void **state) {
  (void)state;
  expect_error("ingest:\n  max_connections: lots\n", 2, 20, "ingest.max_connections");
  expect_error("ingest:\n  max_item_bytes: 1MB\n", 2, 19, "ingest.max_item_bytes");
  expect_error("ingest:\n  max_item_bytes: 1.5\n", 2, 19, "integer");
}

static void test_error_integer_out_of_range(void **state) {
  (void)state;
  expect_error("ingest:\n  max_connections: 0\n", 2, 20, "1..1000000");
  expect_error("publish:\n  send_buffer: 9000\n", 2, 16, "publish.send_buffer");
  expect_error("ingest:\n  max_item_bytes: 99999999999999999999999\n", 2, 19,
               "ingest.max_item_bytes");
  expect_error("ingest:\n  max_item_bytes: -1\n", 2, 19, "ingest.max_item_bytes");
}

static void test_error_bad_bool(void **state) {
  (void)state;
  expect_error("publish:\n  batch: maybe\n", 2, 10, "true or false");
  expect_error("publish:\n  batch: 1\n", 2, 10, "publish.batch");
}

static void test_error_bad_log_level(void **state) {
  (void)state;
  expect_error("log:\n  level: verbose\n", 2, 10, "error, warn, info or debug");
  expect_error("log:\n  level: INFO\n", 2, 10, "log.level");
}

static void test_error_bad_octal(void **state) {
  (void)state;
  expect_error("ingest:\n  ipc_mode: \"0999\"\n", 2, 13, "ingest.ipc_mode");
  expect_error("ingest:\n  ipc_mode: rw-rw----\n", 2, 13, "octal");
  expect_error("ingest:\n  ipc_mode: \"01777\"\n", 2, 13, "octal");
  expect_error("ingest:\n  ipc_mode: \"\"\n", 2, 13, "octal");
}

static void test_error_invalid_yaml_syntax(void **state) {
  (void)state;
  /* libyaml notices the unclosed '[' where the next key starts */
  expect_error("ingest:\n  listen: [tcp://127.0.0.1:7450\nlog:\n  level: info\n", 3, 4, "']'");
  expect_error("ingest:\n  listen:\n    - tcp://127.0.0.1:7450\n   max_connections: 5\n", 4, 4,
               "expected key");
  expect_error("log:\n\tlevel: info\n", 2, 1, "cannot start any token"); /* a tab */
}

static void test_error_anchor_and_alias_refused(void **state) {
  (void)state;
  expect_error("ingest: &defaults\n  max_connections: 5\n", 1, 9, "anchors");
  expect_error("log:\n  level: *lvl\n", 2, 10, "aliases");
  expect_error("a: &x [1]\nb: *x\n", 1, 4, "anchors");
}

static void test_error_two_documents(void **state) {
  (void)state;
  expect_error("log:\n  level: info\n---\nlog:\n  level: debug\n", 4, 1, "one YAML document");
}

static void test_error_duplicate_key(void **state) {
  (void)state;
  /* Was a bug: the last of two equal keys silently won.  YAML requires
   * unique keys; libyaml does not check, so the tree builder does. */
  expect_error("log:\n  level: info\nlog:\n  level: debug\n", 3, 1, "duplicate key 'log'");
  expect_error("publish:\n  batch: true\n  batch: false\n", 3, 3, "duplicate key 'batch'");
}

/* ---- paths --------------------------------------------------------------- */

static void test_relative_paths_resolve_against_config_dir(void **state) {
  (void)state;
  char sub[128], path[256];
  snprintf(sub, sizeof sub, "%s/etc", tmpdir);
  assert_int_equal(mkdir(sub, 0700), 0);
  write_file("etc/newsfeedd.yaml",
             "tagging:\n  rules: my-rules.yaml\n"
             "tls:\n  cert: certs/server.pem\n  key: /srv/keys/server.key\n",
             path, sizeof path);
  nfd_config c;
  char err[512], want[256];
  if (nfd_config_load(&c, path, err, sizeof err) != 0) fail_msg("%s", err);
  snprintf(want, sizeof want, "%s/etc/my-rules.yaml", tmpdir);
  assert_string_equal(c.rules.value, want);
  assert_false(c.rules.builtin);
  snprintf(want, sizeof want, "%s/etc/certs/server.pem", tmpdir);
  assert_string_equal(c.tls_cert.value, want);
  assert_false(c.tls_cert.builtin);
  assert_string_equal(c.tls_key.value, "/srv/keys/server.key");
  assert_false(c.tls_key.builtin);
  nfd_config_free(&c);
  unlink(path);
  rmdir(sub);
}

/* ---- nfd_config_check ---------------------------------------------------- */

/* Loads defaults + TEXT and runs nfd_config_check; returns its result. */
static int check_text(const char *text, char *err, size_t errsz) {
  nfd_config c;
  if (load_text(&c, text, err, errsz) != 0) fail_msg("load: %s", err);
  int rc = nfd_config_check(&c, err, errsz);
  nfd_config_free(&c);
  return rc;
}

static void check_fails(const char *text, const char *want) {
  char err[512];
  if (check_text(text, err, sizeof err) != -1) fail_msg("accepted: %s", text);
  if (!strstr(err, want)) fail_msg("'%s' does not mention '%s'", err, want);
}

static void check_passes(const char *text) {
  char err[512];
  if (check_text(text, err, sizeof err) != 0) fail_msg("%s: %s", text, err);
}

static void test_check_rejects_bad_ingest_urls(void **state) {
  (void)state;
  check_fails("ingest: {listen: [\"http://127.0.0.1:7450\"]}\n", "ingest.listen");
  check_fails("ingest: {listen: [\"tcp://127.0.0.1\"]}\n", "ingest.listen");
  check_fails("ingest: {listen: [\"tcp://127.0.0.1:70000\"]}\n", "ingest.listen");
  check_fails("ingest: {listen: [\"tcp://127.0.0.1:\"]}\n", "ingest.listen");
  check_fails("ingest: {listen: [\"tcp://:7450\"]}\n", "ingest.listen");
  check_fails("ingest: {listen: [\"ipc://\"]}\n", "ingest.listen");
  check_fails("ingest: {listen: [\"tcp://127.0.0.1:7450\", \"udp://x:1\"]}\n", "udp://x:1");
  check_fails("ingest: {listen: []}\n", "ingest.listen");
  check_passes("ingest: {listen: [\"tcp://[::1]:7450\", \"ipc:///tmp/n.sock\"]}\n");
}

static void test_check_rejects_bad_publish_schemes(void **state) {
  (void)state;
  check_fails("publish: {listen: [\"http://127.0.0.1:7451\"]}\n", "publish.listen");
  check_fails("publish: {listen: [\"udp://127.0.0.1:7451\"]}\n", "publish.listen");
  check_fails("publish: {listen: [\"127.0.0.1:7451\"]}\n", "publish.listen");
  check_passes("publish: {listen: [\"ipc:///tmp/p.sock\", \"ws://127.0.0.1:7460/x\"]}\n");
}

static void test_check_tls_needs_cert_and_key(void **state) {
  (void)state;
  check_fails("publish: {listen: [\"tls+tcp://127.0.0.1:7455\"]}\n", "tls.cert");
  check_fails("publish: {listen: [\"wss://127.0.0.1:7455\"]}\n", "tls.key");
  check_fails("publish: {listen: [\"tls+tcp://127.0.0.1:7455\"]}\ntls: {cert: a.pem}\n", "tls");
  check_fails("publish: {listen: [\"tls+tcp://127.0.0.1:7455\"]}\ntls: {key: a.key}\n", "tls");
  check_passes("publish: {listen: [\"tls+tcp://127.0.0.1:7455\"]}\n"
               "tls: {cert: a.pem, key: a.key}\n");
}

static void test_check_metrics_url(void **state) {
  (void)state;
  check_fails("metrics: {listen: \"https://127.0.0.1:7453/metrics\"}\n", "metrics.listen");
  check_fails("metrics: {listen: \"127.0.0.1:7453\"}\n", "metrics.listen");
  check_fails("metrics: {listen: \"tcp://127.0.0.1:7453\"}\n", "metrics.listen");
  check_fails("metrics: {listen: \"\"}\n", "metrics.listen");
  check_passes("metrics: {listen: \"off\"}\n");
  check_passes("metrics: {listen: off}\n");
  check_passes("metrics: {listen: \"http://0.0.0.0:9100/metrics\"}\n");
}

static void test_check_nats_bridge(void **state) {
  (void)state;
  check_fails("outputs: {nats: {url: \"http://127.0.0.1:4222\"}}\n", "outputs.nats.url");
  check_fails("outputs: {nats: {url: \"127.0.0.1:4222\"}}\n", "outputs.nats.url");
  check_fails("outputs: {nats: {url: \"nats://\"}}\n", "outputs.nats.url");
  check_fails("outputs: {nats: {url: \"nats://a:1,,nats://b:2\"}}\n", "outputs.nats.url");
  check_fails("outputs: {nats: {url: \"nats://a:1,tls://b:2\"}}\n", "outputs.nats.url");
  check_fails("outputs: {nats: {url: \"nats://a b:1\"}}\n", "outputs.nats.url");
  check_fails("outputs: {nats: {url: \"nats://a:1,\"}}\n", "outputs.nats.url");
  const char *bad_prefixes[] = {"", ".news", "news.", "a..b", "news.>", "news.*", "a b", "né"};
  for (size_t i = 0; i < sizeof bad_prefixes / sizeof *bad_prefixes; i++) {
    char text[256];
    snprintf(text, sizeof text,
             "outputs: {nats: {url: \"nats://127.0.0.1:4222\", subject_prefix: \"%s\"}}\n",
             bad_prefixes[i]);
    check_fails(text, "outputs.nats.subject_prefix");
  }
  check_passes("outputs: {nats: {url: \"nats://u:p@127.0.0.1:4222,nats://10.0.0.2:4222\", "
               "subject_prefix: feeds.cn-1_x}}\n");
  /* a prefix is only checked when the bridge is on */
  check_passes("outputs: {nats: {subject_prefix: \"\"}}\n");
}

static void test_strlist_flag_replaces_then_appends(void **state) {
  (void)state;
  nfd_config c;
  char err[256];
  assert_int_equal(nfd_config_load(&c, NULL, err, sizeof err), 0);
  bool replaced = false;
  assert_int_equal(nfd_strlist_flag(&c.ingest_listen, &replaced, "ipc:///tmp/a"), 0);
  assert_true(replaced);
  assert_list(&c.ingest_listen, "ipc:///tmp/a");
  assert_int_equal(nfd_strlist_flag(&c.ingest_listen, &replaced, "tcp://127.0.0.1:1"), 0);
  assert_int_equal(c.ingest_listen.n, 2);
  assert_string_equal(c.ingest_listen.v[1], "tcp://127.0.0.1:1");
  nfd_config_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builtin_defaults),
      cmocka_unit_test(test_shipped_file_equals_builtin_defaults),
      cmocka_unit_test(test_partial_file_keeps_other_defaults),
      cmocka_unit_test(test_empty_and_comment_only_files_keep_defaults),
      cmocka_unit_test(test_every_key_can_be_set),
      cmocka_unit_test(test_check_nats_bridge),
      cmocka_unit_test(test_listen_scalar_is_a_one_element_list),
      cmocka_unit_test(test_missing_file_fails_naming_it),
      cmocka_unit_test(test_error_unknown_top_level_key),
      cmocka_unit_test(test_error_unknown_nested_key_names_dotted_path),
      cmocka_unit_test(test_error_list_where_scalar_expected),
      cmocka_unit_test(test_error_map_where_section_expected),
      cmocka_unit_test(test_error_non_scalar_key),
      cmocka_unit_test(test_error_string_for_integer),
      cmocka_unit_test(test_error_integer_out_of_range),
      cmocka_unit_test(test_error_bad_bool),
      cmocka_unit_test(test_error_bad_log_level),
      cmocka_unit_test(test_error_bad_octal),
      cmocka_unit_test(test_error_invalid_yaml_syntax),
      cmocka_unit_test(test_error_anchor_and_alias_refused),
      cmocka_unit_test(test_error_two_documents),
      cmocka_unit_test(test_error_duplicate_key),
      cmocka_unit_test(test_relative_paths_resolve_against_config_dir),
      cmocka_unit_test(test_check_rejects_bad_ingest_urls),
      cmocka_unit_test(test_check_rejects_bad_publish_schemes),
      cmocka_unit_test(test_check_tls_needs_cert_and_key),
      cmocka_unit_test(test_check_metrics_url),
      cmocka_unit_test(test_strlist_flag_replaces_then_appends),
  };
  return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
