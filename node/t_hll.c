/* t_hll.c: placeholder until its owner writes it. */
#include "cmd.h"
#include "obj.h"
const cmd_binding hll_commands[] = {{NULL, NULL}};
