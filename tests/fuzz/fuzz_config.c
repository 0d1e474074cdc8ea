/*
 * fuzz-config: newsfeedd's configuration loader (src/daemon/config.h).
 * nfd_config_load reads a file, so each input is written to a memfd and
 * loaded through /proc/self/fd/N; a configuration that loads goes through
 * nfd_config_check, and nfd_config_free runs either way.  The error must be
 * one NUL-terminated, valid UTF-8 line (it is logged and printed).
 */
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/config.h"
#include "fuzz_common.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fd = memfd_create("fuzz-config.yaml", 0);
  if (fd < 0) {
    perror("memfd_create");
    abort();
  }
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  return 0;
}

static void check_err(const char *err, size_t size) {
  FZ_CHECK(strnlen(err, size) < size, "error is not NUL-terminated");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FZ_CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size,
           "cannot write the memfd");
  nfd_config c;
  char err[1024];
  if (nfd_config_load(&c, path, err, sizeof err) == 0) {
    FZ_CHECK(c.ingest_listen.n == 0 || c.ingest_listen.v, "ingest.listen");
    FZ_CHECK(c.metrics_listen && c.query_listen && c.journal_fsync, "a string key is NULL");
    FZ_CHECK(c.rules.value && c.data_dir.value && c.tokens_file.value && c.tls_cert.value &&
                 c.tls_key.value,
             "a path key is NULL");
    err[0] = 0;
    if (nfd_config_check(&c, err, sizeof err) < 0) {
      FZ_CHECK(err[0], "nfd_config_check failed without a message");
      check_err(err, sizeof err);
    }
  } else {
    FZ_CHECK(err[0], "nfd_config_load failed without a message");
    check_err(err, sizeof err);
  }
  nfd_config_free(&c);
  return 0;
}
