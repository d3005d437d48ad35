# tests/resp.mk — RESP command semantics and Redis client compatibility against the real fickled.
