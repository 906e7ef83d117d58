/* log: leveled logging to stderr or a file, Redis-style line format. */
#ifndef SHOAL_LOG_H
#define SHOAL_LOG_H

enum { LOG_DEBUG = 0, LOG_VERBOSE, LOG_NOTICE, LOG_WARNING };

/* Open the log: path NULL or "" means stderr. Returns 0, or -1 with errno. */
int  log_open(const char *path);
void log_set_level(int level);
int  log_level(void);
int  log_level_from_name(const char *name); /* -1 if unknown */
const char *log_level_name(int level);
void log_set_role(char role);  /* 'M' master, 'S' replica, 'X' proxy ... */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)   do { if (log_level() <= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_verbose(...) do { if (log_level() <= LOG_VERBOSE) log_msg(LOG_VERBOSE, __VA_ARGS__); } while (0)
#define log_notice(...)  log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)

#endif
