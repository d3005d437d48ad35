#!/usr/bin/env python3
"""tests/redis_py_compat.py — drives fickled's RESP port through redis-py's
usual client API and asserts the results, as an application would use it.

Usage: redis_py_compat.py PORT [redis]   (exit 0 = every check passed; run
by tests/test_resp_commands.c, which skips it if redis-py is missing).
With "redis" the server is a real Redis, which has no key order: key lists
are then compared as sets (a check of the script itself)."""
import sys
import time

import redis

ORDERED = True  # fickle returns KEYS and SCAN in key order; Redis does not


def in_order(keys):
    return keys if ORDERED else sorted(keys)


FAILURES = []


def check(what, got, want):
    if got != want:
        FAILURES.append(what)
        print(f"FAIL {what}: got {got!r}, want {want!r}", file=sys.stderr)


def strings(r):
    check("ping", r.ping(), True)
    check("echo", r.echo("hi"), b"hi")
    check("set", r.set("greeting", "hello"), True)
    check("get", r.get("greeting"), b"hello")
    check("get missing", r.get("missing"), None)
    check("set nx on existing", r.set("greeting", "x", nx=True), None)
    check("set xx", r.set("greeting", "hey", xx=True), True)
    check("set get", r.set("greeting", "hi", get=True), b"hey")
    check("setnx", r.setnx("fresh", 1), True)
    check("getset", r.getset("fresh", 2), b"1")
    check("getdel", r.getdel("fresh"), b"2")
    check("mset", r.mset({"a": "1", "b": "2", "c": "3"}), True)
    check("mget", r.mget(["a", "b", "nope", "c"]), [b"1", b"2", None, b"3"])
    check("msetnx", r.msetnx({"a": "9", "zz": "9"}), False)
    check("append", r.append("greeting", "!"), 3)
    check("strlen", r.strlen("greeting"), 3)
    check("getrange", r.getrange("greeting", 0, -2), b"hi")
    check("setrange", r.setrange("greeting", 4, "x"), 5)
    check("padded", r.get("greeting"), b"hi!\x00x")


def counters(r):
    check("incr", r.incr("n"), 1)
    check("incrby", r.incr("n", 41), 42)
    check("decr", r.decr("n"), 41)
    check("decrby", r.decr("n", 40), 1)
    check("incrbyfloat", r.incrbyfloat("f", 10.5), 10.5)
    check("incrbyfloat 2", r.incrbyfloat("f", 0.1), 10.6)
    check("as text", r.get("f"), b"10.6")
    r.set("word", "abc")
    try:
        r.incr("word")
        raise AssertionError("incr on a word did not fail")
    except redis.ResponseError as e:
        check("incr error", str(e), "value is not an integer or out of range")


def expiry(r):
    check("set ex", r.set("t", "v", ex=100), True)
    check("ttl", r.ttl("t"), 100)
    check("expire", r.expire("t", 50), True)
    check("ttl after expire", r.ttl("t"), 50)
    check("pttl", 49000 <= r.pttl("t") <= 50000, True)
    check("persist", r.persist("t"), True)
    check("ttl persisted", r.ttl("t"), -1)
    check("ttl missing", r.ttl("nothing"), -2)
    check("setex", r.setex("short", 100, "v"), True)
    check("psetex", r.psetex("gone", 50, "v"), True)
    time.sleep(0.12)
    check("expired get", r.get("gone"), None)
    check("expired exists", r.exists("gone"), 0)


def keys(r):
    r.flushdb()
    names = [f"user:{i:04d}" for i in range(250)]
    with r.pipeline(transaction=False) as p:
        for i, k in enumerate(names):
            p.set(k, i)
        p.get("user:0007")
        p.incr("counter")
        res = p.execute()
    check("pipeline", res, [True] * 250 + [b"7", 1])
    check("dbsize", r.dbsize(), 251)
    check("keys", in_order(r.keys("user:000*")), [k.encode() for k in names[:10]])
    seen = in_order(list(r.scan_iter(match="user:*", count=17)))
    check("scan_iter visits each key once, in order", seen, [k.encode() for k in names])
    check("exists", r.exists("user:0001", "user:0001", "nope"), 2)
    check("delete", r.delete("user:0001", "user:0002", "nope"), 2)
    check("type", r.type("counter"), b"string")
    check("rename", r.rename("counter", "renamed"), True)
    check("randomkey", r.randomkey() is not None, True)
    check("flushdb", r.flushdb(), True)
    check("empty", r.dbsize(), 0)
    check("randomkey empty", r.randomkey(), None)


def server(r):
    check("client_setname", r.client_setname("compat-test"), True)
    check("client_getname", r.client_getname(), "compat-test")  # redis-py decodes this one
    check("client_id", isinstance(r.client_id(), int), True)
    info = r.info()
    check("info redis_version", "redis_version" in info, True)
    check("info keyspace", r.info("keyspace"), {})
    r.set("k", "v")
    # redis-py turns "db0:keys=1,expires=0,avg_ttl=0" into a dict; it needs the commas
    check("info keyspace db0", r.info("keyspace").get("db0"), {"keys": 1, "expires": 0, "avg_ttl": 0})
    check("config_get", r.config_get("maxmemory-policy"), {"maxmemory-policy": "noeviction"})
    check("config_get glob", set(r.config_get("maxmemory*")) >= {"maxmemory", "maxmemory-policy"}, True)
    check("time", abs(r.time()[0] - time.time()) < 5, True)


def binary(r):
    key, value = b"bin\x00\r\nkey", bytes(range(256)) * 4
    check("set binary", r.set(key, value), True)
    check("get binary", r.get(key), value)
    check("keys binary", r.keys(b"bin*"), [key])
    check("strlen binary", r.strlen(key), 1024)
    big = b"\xff\x00" * 300000
    check("set big", r.set("big", big), True)
    check("get big", r.get("big"), big)


def main():
    global ORDERED
    port = int(sys.argv[1])
    ORDERED = sys.argv[2:] != ["redis"]
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
    r.flushall()
    for part in (strings, counters, expiry, keys, server, binary):
        try:
            part(r)
        except redis.RedisError as e:
            check(f"{part.__name__}: unexpected {type(e).__name__} {e}", True, False)
    text = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    text.set("greeting", "héllo")
    check("decoded", text.get("greeting"), "héllo")
    check("decoded mget", text.mget("greeting", "nope"), ["héllo", None])
    r.flushall()
    if FAILURES:
        print(f"redis-py {redis.__version__}: {len(FAILURES)} checks failed", file=sys.stderr)
        sys.exit(1)
    print("redis-py", redis.__version__, "against port", port, ": all checks passed")


if __name__ == "__main__":
    main()
