// glibc's posix_spawn extensions (2.34+), which Swift's Glibc module does not show (they need
// _GNU_SOURCE, defined in shim.c only: defined here it would change the system headers' types
// against every other module's): TestSupport's SpawnedProcess closes every inherited descriptor
// in the child and starts it in a given directory.
#ifndef CTESTSUPPORT_H
#define CTESTSUPPORT_H

#include <spawn.h>

int cts_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);
int cts_spawn_addchdir(posix_spawn_file_actions_t *actions, const char *path);

#endif
