/* `bitnet serve`: the HTTP front (libmicrohttpd) over the current model. */
#ifndef BITNET_SERVER_SERVER_H
#define BITNET_SERVER_SERVER_H

#include "model.h"

typedef struct srv_config {
    const char *host;      /* bind address (default 127.0.0.1) */
    int port;              /* 0 = any free port (printed) */
    size_t max_body;       /* request body bytes; larger: 413 */
    unsigned conn_limit;   /* open connections */
    unsigned conn_timeout; /* seconds a connection may sit idle (not while waiting for tokens) */
    int http_threads;
    char **keys;           /* API keys (Authorization: Bearer); none = open */
    size_t n_keys;
    char *admin_key;       /* for /admin/ routes; NULL = admin routes refused */
    int32_t max_tokens;    /* default max_tokens when a request has none (-1: to the context) */
    bn_host_opts model;    /* model flags, reused by admin loads */
    srv_sched_opts sched;
} srv_config;

typedef struct srv_server srv_server;

/* Start listening, then load the model in the background (/health/ready
 * says 503 until it is in). Prints "bitnet serve: listening on URL". */
int srv_server_start(const srv_config *cfg, srv_server **out);
/* Block until the model load finished: 0 if a model serves. */
int srv_server_wait_ready(srv_server *s, char *err, size_t err_len);
/* Stop accepting, end requests in flight, free everything. */
void srv_server_stop(srv_server *s);

#endif
