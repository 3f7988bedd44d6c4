// common/version.h - the suite's version, shown by --version and sent by
// apex-worker in its heartbeats.
#ifndef APEX_VERSION_H
#define APEX_VERSION_H

#define APEX_VERSION "0.1.0"

#endif
