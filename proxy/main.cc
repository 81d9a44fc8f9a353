#include <cstdio>
#include <cstring>

#include "proxy/demo_backend.h"

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "backend") == 0) {
    return sy::proxy::runDemoBackend(argc - 2, argv + 2);
  }
  std::fprintf(stderr, "usage: switchyard backend ...\n");
  return 2;
}
