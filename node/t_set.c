/* t_set.c: placeholder until its owner writes it. */
#include "cmd.h"
#include "obj.h"
const cmd_binding set_commands[] = {{NULL, NULL}};
const obj_type_ops set_type_ops = {"set", 0, 0, 0, 0, 0, 0};
