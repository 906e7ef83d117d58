/* slowlog: commands slower than slowlog-log-slower-than microseconds. */
#ifndef SHOAL_SLOWLOG_H
#define SHOAL_SLOWLOG_H
#include "client.h"
void slowlog_push(client *c, int argc, const char **argv, const size_t *argvlen, long long usec);
#endif
