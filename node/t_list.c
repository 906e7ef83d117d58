/* t_list.c: placeholder until its owner writes it. */
#include "cmd.h"
#include "obj.h"
const cmd_binding list_commands[] = {{NULL, NULL}};
const obj_type_ops list_type_ops = {"list", 0, 0, 0, 0, 0, 0};
