/* t_bitmap.c: placeholder until its owner writes it. */
#include "cmd.h"
#include "obj.h"
const cmd_binding bitmap_commands[] = {{NULL, NULL}};
