/*
 * helper-raw.h: talking to a test daemon's socket byte by byte, for tests
 * that must send what libcallrole never would (malformed, pipelined or
 * half-sent frames: tests/test-daemon.c, tests/test-group.c).  Failures are
 * cmocka assertions, so these are for test bodies.
 */
#pragma once

#include <stddef.h>

/* A connection to socket_path with receive and send timeouts of
 * timeout_sec, so a test waiting for a reply that never comes fails
 * instead of hanging. */
int raw_connect(const char *socket_path, unsigned timeout_sec);
/* All of p, or the test fails. */
void raw_write(int fd, const void *p, size_t n);
/* Exactly n bytes: 0, -ECONNRESET at EOF, -EAGAIN on timeout, or -errno. */
int raw_read_exact(int fd, void *p, size_t n);
