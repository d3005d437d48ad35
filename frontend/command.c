/*
 * command.c — names and properties of the commands in command.h.
 */
#include "config.h"

#include "frontend/command.h"

typedef struct {
    const char *name;
    uint32_t info;
} cmd_meta_t;

#define W CMD_I_WRITE
#define N CMD_I_NOAUTH

static const cmd_meta_t meta[CMD__COUNT] = {
    [CMD_NONE] = {"?", 0},
    [CMD_GET] = {"get", 0},
    [CMD_SET] = {"set", W},
    [CMD_SETNX] = {"setnx", W},
    [CMD_DEL] = {"del", W},
    [CMD_EXISTS] = {"exists", 0},
    [CMD_INCRBY] = {"incrby", W},
    [CMD_MGET] = {"mget", 0},
    [CMD_MSET] = {"mset", W},
    [CMD_MSETNX] = {"msetnx", W},
    [CMD_RANGE] = {"range", 0},
    [CMD_RCOUNT] = {"rcount", 0},
    [CMD_PING] = {"ping", 0},
    [CMD_INFO] = {"info", 0},
    [CMD_AUTH] = {"auth", N},
    [CMD_QUIT] = {"quit", N},
    [CMD_ECHO] = {"echo", 0},
    [CMD_SELECT] = {"select", 0},
    [CMD_HELLO] = {"hello", N},
    [CMD_CLIENT_SETNAME] = {"client|setname", 0},
    [CMD_CLIENT_GETNAME] = {"client|getname", 0},
    [CMD_CLIENT_ID] = {"client|id", 0},
    [CMD_CLIENT_SETINFO] = {"client|setinfo", 0},
    [CMD_COMMAND] = {"command", 0},
    [CMD_DBSIZE] = {"dbsize", 0},
    [CMD_TIME] = {"time", 0},
    [CMD_CONFIG_GET] = {"config|get", 0},
    [CMD_GETDEL] = {"getdel", W},
    [CMD_GETEX] = {"getex", W},
    [CMD_INCRBYFLOAT] = {"incrbyfloat", W},
    [CMD_APPEND] = {"append", W},
    [CMD_STRLEN] = {"strlen", 0},
    [CMD_GETRANGE] = {"getrange", 0},
    [CMD_SETRANGE] = {"setrange", W},
    [CMD_EXPIRE] = {"expire", W},
    [CMD_TTL] = {"ttl", 0},
    [CMD_PTTL] = {"pttl", 0},
    [CMD_EXPIRETIME] = {"expiretime", 0},
    [CMD_PEXPIRETIME] = {"pexpiretime", 0},
    [CMD_PERSIST] = {"persist", W},
    [CMD_TYPE] = {"type", 0},
    [CMD_KEYS] = {"keys", 0},
    [CMD_SCAN] = {"scan", 0},
    [CMD_RANDOMKEY] = {"randomkey", 0},
    [CMD_RENAME] = {"rename", W},
    [CMD_RENAMENX] = {"renamenx", W},
    [CMD_FLUSHDB] = {"flushdb", W},
    [CMD_FLUSHALL] = {"flushall", W},
    [CMD_MULTI] = {"multi", 0},
    [CMD_EXEC] = {"exec", 0},
    [CMD_DISCARD] = {"discard", 0},
    [CMD_WATCH] = {"watch", 0},
    [CMD_UNWATCH] = {"unwatch", 0},
    [CMD_SAVE] = {"save", 0},
    [CMD_BGSAVE] = {"bgsave", 0},
    [CMD_LASTSAVE] = {"lastsave", 0},
    [CMD_TXN] = {"txn", W},
};

#undef W
#undef N

const char *cmd_name(cmd_id_t id)
{
    if ((unsigned)id >= CMD__COUNT || !meta[id].name)
        return "?";
    return meta[id].name;
}

uint32_t cmd_info(cmd_id_t id)
{
    if ((unsigned)id >= CMD__COUNT)
        return 0;
    return meta[id].info;
}

bool cmd_parse_i64(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 20)
        return false;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    bool neg = s[0] == '-';
    size_t i = neg ? 1 : 0;
    if (i == len || s[i] < '1' || s[i] > '9')
        return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}
