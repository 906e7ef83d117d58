#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int cur_level = LOG_NOTICE;
static FILE *out;
static char role = 'M';
static const char *names[] = {"debug", "verbose", "notice", "warning"};
static const char marks[] = ".-*#";

int log_open(const char *path)
{
    if (out && out != stderr) fclose(out);
    out = NULL;
    if (!path || !*path) return 0;
    out = fopen(path, "a");
    return out ? 0 : -1;
}

void log_set_level(int level) { cur_level = level; }
int log_level(void) { return cur_level; }
void log_set_role(char r) { role = r; }

int log_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    return -1;
}

const char *log_level_name(int level)
{
    return (level >= 0 && level < 4) ? names[level] : "notice";
}

void log_msg(int level, const char *fmt, ...)
{
    if (level < cur_level) return;
    FILE *f = out ? out : stderr;
    char ts[64];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(ts, sizeof(ts), "%d %b %Y %H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03d", (int)(tv.tv_usec / 1000));
    fprintf(f, "%d:%c %s %c ", (int)getpid(), role, ts, marks[level & 3]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fflush(f);
}
