/*
 * berth's native CNI fast-path client: the C twin of berth/cni/fastpath.py.
 *
 * Why: Python's own start-up (~10 ms) is more than the reference Go plugins
 * take for a whole ADD, so `berth cni install` compiles this file (when a C
 * compiler is there) into every installed plugin.  The plugin name is the
 * basename of argv[0]; BERTH_PYTHON and BERTH_ROOT are compiled in.
 *
 * It reads stdin and sends the same request as the Python client
 * ("BCNI1 <plugin> <env length>\n" + env joined by NUL + stdin, with
 * /proc/self/ns/net as SCM_RIGHTS) to $BERTH_CNI_SOCKET or /run/berth/cni.sock,
 * and copies "<status>\n<stdout>" back.  Whenever it cannot decide or no
 * server answers ("berthSocket" in the config, BERTH_CNI_SOCKET=off, no
 * socket), it puts stdin back (a memfd on fd 0) and execs the Python client,
 * which owns all the other rules and the in-process fallback.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static char *read_all(int fd, size_t *len) {
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap) buf = realloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    *len = n;
    return buf;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w; n -= (size_t)w;
    }
    return 0;
}

static void python_fallback(const char *plugin, const char *in, size_t len) {
    int mfd = memfd_create("berth-cni-stdin", 0);
    if (mfd >= 0 && write_all(mfd, in, len) == 0 && lseek(mfd, 0, SEEK_SET) == 0)
        dup2(mfd, 0);
    char code[4096];
    snprintf(code, sizeof code,
             "import sys; sys.path.insert(0, '%s'); from berth.cni.fastpath import run; run('%s')",
             BERTH_ROOT, plugin);
    execl(BERTH_PYTHON, BERTH_PYTHON, "-IS", "-c", code, (char *)NULL);
    fprintf(stdout, "{\"cniVersion\": \"1.0.0\", \"code\": 999, \"msg\": \"berth: cannot exec "
            "%s: %s\"}\n", BERTH_PYTHON, strerror(errno));
    exit(1);
}

int main(int argc, char **argv) {
    (void)argc;
    const char *plugin = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    size_t in_len = 0;
    char *in = isatty(0) ? calloc(1, 1) : read_all(0, &in_len);
    const char *path = getenv("BERTH_CNI_SOCKET");
    if (path && (!*path || !strcmp(path, "off"))) python_fallback(plugin, in, in_len);
    if (memmem(in, in_len, "\"berthSocket\"", 13)) python_fallback(plugin, in, in_len);
    if (!path) path = "/run/berth/cni.sock";

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) python_fallback(plugin, in, in_len);
    strcpy(addr.sun_path, path);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0)
        python_fallback(plugin, in, in_len);

    size_t env_len = 0;
    for (char **e = environ; *e; e++) env_len += strlen(*e) + (e != environ);
    char header[512];
    int hlen = snprintf(header, sizeof header, "BCNI1 %s %zu\n", plugin, env_len);
    size_t total = (size_t)hlen + env_len + in_len, off = 0;
    char *req = malloc(total + 1);
    memcpy(req, header, (size_t)hlen);
    off = (size_t)hlen;
    for (char **e = environ; *e; e++) {
        if (e != environ) req[off++] = '\0';
        size_t l = strlen(*e);
        memcpy(req + off, *e, l);
        off += l;
    }
    memcpy(req + off, in, in_len);

    int nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    char cbuf[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {.iov_base = req, .iov_len = total};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                         .msg_controllen = sizeof cbuf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &nsfd, sizeof(int));
    ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
    close(nsfd);
    if (sent < 0 || write_all(sock, req + sent, total - (size_t)sent) < 0)
        python_fallback(plugin, in, in_len);
    shutdown(sock, SHUT_WR);

    size_t rlen = 0;
    char *reply = read_all(sock, &rlen);
    char *nl = memchr(reply, '\n', rlen);
    if (!nl || nl == reply) {
        printf("{\"cniVersion\": \"1.0.0\", \"code\": 11, \"msg\": \"berth fast path: the "
               "server at %s closed the connection\", \"details\": \"\"}\n", path);
        return 1;
    }
    int status = atoi(reply);
    write_all(1, nl + 1, rlen - (size_t)(nl + 1 - reply));
    return status;
}
