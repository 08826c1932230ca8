/* The release of this tree: every program says it with --version, the manager in /v1/health
 * and both ends of the state channel in HELLO and WELCOME. */
#ifndef LIB_VERSION_H
#define LIB_VERSION_H

#define SNAPTUN_VERSION "0.1.0"

#endif
