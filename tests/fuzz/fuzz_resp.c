/* libFuzzer target for the RESP request parser: feeds the input in random
 * splits (the first byte picks the chunk size) the way a socket would, and
 * checks the parser's invariants: progress is monotonic, arguments lie
 * inside the data, and errors carry a message. */
#include "resp.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t chunk = (size_t)(data[0] % 64) + 1;
    data++;
    size--;
    resp_parser p;
    resp_parser_init(&p, 1024 * 1024);
    size_t start = 0, avail = 0;
    while (start < size) {
        avail += chunk;
        if (start + avail > size) avail = size - start;
        size_t used = 0;
        int r = resp_parse(&p, (const char *)data + start, avail, &used);
        if (r == RESP_PROTO_ERR) {
            if (!p.err || !*p.err) abort();
            break;
        }
        if (r == RESP_DONE) {
            if (used == 0 || used > avail) abort();
            for (int i = 0; i < p.argc; i++) {
                const char *a = p.argv[i];
                int in_data = a >= (const char *)data + start && a + p.argvlen[i] <= (const char *)data + start + avail;
                int in_scratch = p.scratch && a >= p.scratch && a + p.argvlen[i] <= p.scratch + p.scratch_cap;
                if (!in_data && !in_scratch) abort();
            }
            start += used;
            avail = 0;
            resp_parser_reset(&p);
            continue;
        }
        if (start + avail >= size) break;
    }
    resp_parser_free(&p);
    return 0;
}
