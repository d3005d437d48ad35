# tests/arm.mk — the aarch64 CI stage (.ci/arm, docs/arm.md) ships with the sources.
EXTRA_DIST += .ci/arm
