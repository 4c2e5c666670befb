#pragma once
// Unix-socket helpers Swift cannot write itself: sockaddr_un, SO_PEERCRED and SCM_RIGHTS
// (the CMSG_* macros). Each returns -1 with errno set on failure.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

static inline int ctd_unix_address(const char *path, struct sockaddr_un *address) {
    if (strlen(path) >= sizeof address->sun_path) { errno = ENAMETOOLONG; return -1; }
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    strcpy(address->sun_path, path);
    return 0;
}

/// A listening stream socket bound to `path` (which must not exist).
static inline int ctd_unix_listen(const char *path, int backlog) {
    struct sockaddr_un address;
    if (ctd_unix_address(path, &address) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, backlog) != 0) {
        int saved = errno; close(fd); errno = saved; return -1;
    }
    return fd;
}

/// A stream socket connected to `path`.
static inline int ctd_unix_connect(const char *path) {
    struct sockaddr_un address;
    if (ctd_unix_address(path, &address) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) { int saved = errno; close(fd); errno = saved; return -1; }
    return fd;
}

#ifndef MSG_CMSG_CLOEXEC
#define MSG_CMSG_CLOEXEC 0x40000000
#endif

/// The accepted connection, close-on-exec.
static inline int ctd_accept(int fd) {
    int client = accept(fd, NULL, NULL);
    if (client >= 0) fcntl(client, F_SETFD, FD_CLOEXEC);
    return client;
}

static inline int ctd_peer_credentials(int fd, int *pid, unsigned *uid, unsigned *gid) {
    // struct ucred without _GNU_SOURCE (which would change other headers Swift also imports).
    struct { pid_t pid; uid_t uid; gid_t gid; } credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid; *uid = credentials.uid; *gid = credentials.gid;
    return 0;
}

/// Sends `length` bytes with one descriptor attached (SCM_RIGHTS).
static inline ssize_t ctd_send_with_descriptor(int socket_fd, const void *bytes, size_t length, int descriptor) {
    struct iovec vector = { (void *)bytes, length };
    union { char buffer[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &descriptor, sizeof(int));
    return sendmsg(socket_fd, &message, MSG_NOSIGNAL);
}

/// Receives up to `length` bytes; a descriptor that came with them goes to *descriptor (else -1).
/// Any further descriptors are closed, so a hostile client cannot make us leak them.
static inline ssize_t ctd_receive_with_descriptor(int socket_fd, void *bytes, size_t length, int *descriptor) {
    struct iovec vector = { bytes, length };
    union { char buffer[CMSG_SPACE(sizeof(int) * 8)]; struct cmsghdr align; } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    *descriptor = -1;
    ssize_t count = recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
    if (count < 0) return count;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t n = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int received[8];
        memcpy(received, CMSG_DATA(header), (n > 8 ? 8 : n) * sizeof(int));
        for (size_t i = 0; i < n && i < 8; i++) {
            if (*descriptor < 0) *descriptor = received[i]; else close(received[i]);
        }
    }
    return count;
}

static inline ssize_t ctd_send(int socket_fd, const void *bytes, size_t length) {
    return send(socket_fd, bytes, length, MSG_NOSIGNAL);
}
