/* errstats: error replies counted by their prefix (INFO errorstats). */
#ifndef SHOAL_ERRSTATS_H
#define SHOAL_ERRSTATS_H
#include "buf.h"
void errstats_count(const char *msg);   /* msg starts with the prefix: "ERR ...", "WRONGTYPE ..." */
void errstats_info(buf_t *out);         /* "errorstat_ERR:count=N\r\n" lines */
void errstats_reset(void);
#endif
