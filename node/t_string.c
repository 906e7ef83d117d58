/* t_string.c: placeholder until its owner writes it. */
#include "cmd.h"
#include "obj.h"
const cmd_binding string_commands[] = {{NULL, NULL}};
const obj_type_ops string_type_ops = {"string", 0, 0, 0, 0, 0, 0};
