// common/fs.h - file-system helpers the programs share: creating a folder
// with its missing parents, as `mkdir -p` does, and raising the limit on
// open files (every connection is one).
#ifndef APEX_FS_H
#define APEX_FS_H

#include "common/error.h"

#define APEX_FS_DIR_MODE 0777 // new folders: everything the umask allows

// Create the folder dir and every missing parent (mode APEX_FS_DIR_MODE
// less the umask). Returns 0 when dir is a folder afterwards (it may have
// existed), or -1 with err set to "mkdir PATH: reason" naming the first
// part that could not be made; an empty or NULL dir is an error.
int apex_fs_mkdir_p(const char *dir, apex_error_t *err);

// Create the folder a file will go into: apex_fs_mkdir_p() of everything
// before path's last '/' ("results/run_stats.csv" makes "results"). A
// path without a folder needs none: 0. Fails as apex_fs_mkdir_p().
int apex_fs_mkdir_parent(const char *path, apex_error_t *err);

// Raise the soft limit on open files to the hard one. Returns the soft
// limit in force afterwards, or -1 with err set when it could not be read
// or raised (the old limit then stays).
long apex_fs_raise_nofile(apex_error_t *err);

#endif
