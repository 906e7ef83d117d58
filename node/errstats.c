/* errstats: a small table of error prefixes and their counts. Redis caps
 * the number of distinct prefixes at 128 so a client can't grow it. */
#include "errstats.h"
#include <string.h>

#define MAX_PREFIXES 128
static struct { char name[32]; long long count; } tab[MAX_PREFIXES];
static int ntab;

void errstats_count(const char *msg)
{
    size_t n = strcspn(msg, " ");
    if (n == 0 || n >= sizeof(tab[0].name)) return;
    for (int i = 0; i < ntab; i++)
        if (strlen(tab[i].name) == n && memcmp(tab[i].name, msg, n) == 0) { tab[i].count++; return; }
    if (ntab == MAX_PREFIXES) return;
    memcpy(tab[ntab].name, msg, n);
    tab[ntab].name[n] = 0;
    tab[ntab].count = 1;
    ntab++;
}

void errstats_info(buf_t *out)
{
    for (int i = 0; i < ntab; i++) buf_printf(out, "errorstat_%s:count=%lld\r\n", tab[i].name, tab[i].count);
}

void errstats_reset(void) { ntab = 0; }
