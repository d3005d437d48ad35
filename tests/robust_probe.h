/*
 * robust_probe.h — does a dead owner's robust mutex reach EOWNERDEAD here?
 */
#ifndef FICKLE_TESTS_ROBUST_PROBE_H
#define FICKLE_TESTS_ROBUST_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* Probes whether a robust process-shared mutex held by a process that dies
 * is handed to the next locker with EOWNERDEAD (it is not under qemu-user).
 * A child locks one and exits; the parent tries a 3 s timed lock. Never
 * hangs. false with the reason in why. */
bool probe_robust_mutex(char *why, size_t whylen);

#endif
