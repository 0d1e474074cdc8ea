/* newsfeedd -- entry point; the program lives in daemon/main.c. */
#include "daemon/nfd.h"

int main(int argc, char **argv) {
  return nfd_main(argc, argv);
}
