/*
 * helper-raw.c: raw socket helpers of the daemon tests (helper-raw.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "helper-raw.h"

int raw_connect(const char *socket_path, unsigned timeout_sec) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = timeout_sec };
        size_t len = strlen(socket_path);
        int fd;

        assert_true(len < sizeof(sa.sun_path));
        memcpy(sa.sun_path, socket_path, len);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
        return fd;
}

void raw_write(int fd, const void *p, size_t n) {
        const uint8_t *b = p;

        while (n > 0) {
                ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        fail_msg("send: %s", strerror(errno));
                b += k;
                n -= (size_t) k;
        }
}

int raw_read_exact(int fd, void *p, size_t n) {
        uint8_t *b = p;

        while (n > 0) {
                ssize_t k = recv(fd, b, n, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
                if (k == 0)
                        return -ECONNRESET;
                b += k;
                n -= (size_t) k;
        }
        return 0;
}
