/*
 * resp_proto.c — the RESP port's proto_t: frames requests out of the
 * connection's input with resp_parse, checks authentication, runs them in
 * order through resp_exec, and answers framing errors as Redis does.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "frontend/proto.h"
#include "frontend/resp_exec.h"
#include "frontend/resp_reply.h"
#include "frontend/worker.h"

static void *resp_state_new(const conn_t *c)
{
    resp_state_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    resp_limits_t lim;
    resp_limits_default(&lim);
    if (lim.max_bulk > c->w->conf->max_request)
        lim.max_bulk = c->w->conf->max_request; /* larger could never be read */
    resp_parser_init(&s->p, &lim);
    return s;
}

static void resp_state_free(void *arg)
{
    resp_state_t *s = arg;
    resp_parser_free(&s->p);
    store_buf_free(&s->scan_key);
    resp_multi_free(&s->txn);
    free(s);
}

static void resp_error_reply(struct evbuffer *out, uint16_t native_status, const char *msg)
{
    (void)native_status;
    resp_reply_error(out, msg);
}

static cmd_parse_t resp_pump_parse(conn_t *c, const char *buf, size_t len, cmd_t *cmd)
{
    resp_state_t *s = c->pstate;
    s->p.unauth = !c->authed;
    return resp_parse(&s->p, buf, len, cmd);
}

/* Runs one parsed request; NOAUTH before authentication. */
static proto_result_t resp_pump_run(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    if (!exec_allowed(c, cmd)) {
        resp_multi_fail(&((resp_state_t *)c->pstate)->txn);
        resp_reply_error(out, "NOAUTH Authentication required.");
        return PROTO_CONTINUE;
    }
    return resp_exec(c, c->pstate, cmd, out);
}

static void resp_pump_reject(conn_t *c, const cmd_t *cmd, const cmd_parse_t *r, struct evbuffer *out)
{
    (void)cmd;
    resp_state_t *s = c->pstate;
    if (!resp_multi_reject(&s->txn, r->msg, s->p.table_error, r->fatal, out))
        resp_reply_error(out, r->msg);
}

static const conn_pump_t resp_pump = {resp_pump_parse, resp_pump_run, resp_pump_reject, resp_peek_key};

static proto_result_t resp_process(conn_t *c, struct evbuffer *in, struct evbuffer *out)
{
    return conn_pump(c, in, out, &((resp_state_t *)c->pstate)->want, &resp_pump);
}

const proto_t proto_resp = {
    .name = "resp",
    .process = resp_process,
    .error_reply = resp_error_reply,
    .state_new = resp_state_new,
    .state_free = resp_state_free,
};
