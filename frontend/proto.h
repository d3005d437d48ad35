/*
 * proto.h — the protocols a worker can serve on a listening socket.
 */
#ifndef FICKLE_FRONTEND_PROTO_H
#define FICKLE_FRONTEND_PROTO_H

#include "frontend/conn.h"

extern const proto_t proto_resp;   /* RESP2 (Redis clients): resp_proto.c */
extern const proto_t proto_native; /* fickle's binary protocol: native_proto.c */

#endif
