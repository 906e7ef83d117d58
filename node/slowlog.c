/* slowlog.c: placeholder until its owner writes it. */
#include "slowlog.h"
void slowlog_push(client *c, int argc, const char **argv, const size_t *argvlen, long long usec) {}
