/* net: listening sockets, accepting clients, reading requests and
 * writing replies with libevent. */
#ifndef SHOAL_NET_H
#define SHOAL_NET_H
#include "client.h"

/* Opens the listeners from cfg.bind/cfg.port; 0 ok, -1 with err filled. */
int  net_listen(char *err, size_t errlen);
void net_close_listeners(void);
/* Registers a new connection's events and creates its client. */
client *net_client_attach(int fd);
/* Writes as much of c's output as the socket takes now; arms the write
 * event for the rest. Returns -1 if the client was freed. */
int  net_write(client *c);
/* Resumes parsing a client's buffered input (after unblock/unpause). */
void net_resume_client(client *c);
#endif
