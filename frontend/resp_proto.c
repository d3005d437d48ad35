/*
 * resp_proto.c — the RESP port's proto_t: frames requests out of the
 * connection's input with resp_parse, checks authentication, runs them in
 * order through resp_exec, and answers framing errors as Redis does.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
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
    free(s);
}

static void resp_error_reply(struct evbuffer *out, const char *msg)
{
    resp_reply_error(out, msg);
}

/* A request that can never fit under the connection's read limit would
 * wait forever: refuse it and close, as Redis does for oversize queries. */
static proto_result_t too_large(conn_t *c, struct evbuffer *out)
{
    log_msg(LOG_NOTICE, "client id=%llu %s closed: request over the %llu-byte limit", (unsigned long long)c->id,
            c->peer, (unsigned long long)c->w->conf->max_request);
    resp_reply_error(out, "ERR Protocol error: request too large");
    conn_count_limit_close(c);
    return PROTO_CLOSE;
}

/* Runs one parsed request; NOAUTH before authentication. */
static proto_result_t run(conn_t *c, resp_state_t *s, const cmd_t *cmd, struct evbuffer *out)
{
    if (!exec_allowed(c, cmd)) {
        resp_reply_error(out, "NOAUTH Authentication required.");
        return PROTO_CONTINUE;
    }
    return resp_exec(c, s, cmd, out);
}

static proto_result_t resp_process(conn_t *c, struct evbuffer *in, struct evbuffer *out)
{
    resp_state_t *s = c->pstate;
    while (!conn_output_full(c)) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0 || avail < s->want)
            break;
        const char *buf = (const char *)evbuffer_pullup(in, -1);
        if (buf == NULL)
            return PROTO_CLOSE; /* out of memory */
        s->p.unauth = !c->authed;
        cmd_t cmd;
        cmd_parse_t r = resp_parse(&s->p, buf, avail, &cmd);
        if (r.status == CMD_PARSE_NEED_MORE) {
            evbuffer_drain(in, r.consumed);
            s->want = r.want;
            if (r.want > c->w->conf->max_request || avail - r.consumed >= c->w->conf->max_request)
                return too_large(c, out);
            break;
        }
        s->want = 0;
        proto_result_t res = PROTO_CONTINUE;
        if (r.status == CMD_PARSE_ERROR) {
            resp_reply_error(out, r.msg);
            if (r.fatal) {
                log_msg(LOG_INFO, "client id=%llu %s: %s; closing", (unsigned long long)c->id, c->peer, r.msg);
                conn_count_limit_close(c);
                res = PROTO_CLOSE;
            }
        } else {
            res = run(c, s, &cmd, out);
        }
        evbuffer_drain(in, r.consumed); /* operands pointed into these bytes */
        if (res == PROTO_CLOSE)
            return PROTO_CLOSE;
    }
    return PROTO_CONTINUE;
}

const proto_t proto_resp = {
    .name = "resp",
    .process = resp_process,
    .error_reply = resp_error_reply,
    .state_new = resp_state_new,
    .state_free = resp_state_free,
};
