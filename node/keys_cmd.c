/* keys_cmd.c: placeholder until its owner writes it. */
#include "cmd.h"
#include "obj.h"
const cmd_binding keys_commands[] = {{NULL, NULL}};
