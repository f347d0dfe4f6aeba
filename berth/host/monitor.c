/*
 * berth-monitor: the per-container keeper (the role of conmon or
 * containerd-shim), so containers outlive the node agent.
 *
 * Usage: berth-monitor -l LOG -e EXITFILE -p PIDFILE [-o OOMFILE] -- RUNTIME create ...
 *
 * The first process (A) forks the keeper (B) and waits for a one-line
 * report on a pipe: "ok <container pid> <keeper pid>" or the runtime's error
 * text.  A then exits 0 or 1, so the caller learns whether `runc create`
 * worked without having to reap B.  B starts a new session, becomes a child
 * subreaper, owns the container's stdout/stderr pipes and runs the runtime's
 * create command with them.  When the container's init process is created B
 * writes each output line to LOG in CRI format
 * ("<RFC3339Nano> stdout F line", P for a partial line), reopens LOG on
 * SIGUSR1 (rotation), and when init exits writes EXITFILE as JSON
 * {"exitCode", "signal", "finishedAt", "oomKilled"} (OOMKILLED from the
 * oom_kill counter in OOMFILE, the cgroup's memory.oom_control or
 * memory.events), atomically, then exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 16384

struct stream {
    const char *name;
    int fd;
    char buf[LINE_MAX_BYTES];
    size_t len;
};

static const char *log_path;
static int log_fd = -1;

static void open_log(void) {
    if (log_fd >= 0) close(log_fd);
    log_fd = log_path ? open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640) : -1;
}

static void now_rfc3339(char *out, size_t size) {
    struct timespec ts;
    struct tm tm;
    char base[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%09ldZ", base, ts.tv_nsec);
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void emit(struct stream *s, const char *line, size_t n, char tag) {
    char head[64];
    char stamp[48];
    if (log_fd < 0) return;
    now_rfc3339(stamp, sizeof stamp);
    int h = snprintf(head, sizeof head, "%s %s %c ", stamp, s->name, tag);
    /* One write per record keeps records whole for readers tailing the file. */
    char *rec = malloc((size_t)h + n + 1);
    if (!rec) return;
    memcpy(rec, head, (size_t)h);
    memcpy(rec + h, line, n);
    rec[(size_t)h + n] = '\n';
    write_all(log_fd, rec, (size_t)h + n + 1);
    free(rec);
}

static void flush_lines(struct stream *s, int at_eof) {
    size_t start = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->buf[i] == '\n') {
            emit(s, s->buf + start, i - start, 'F');
            start = i + 1;
        }
    }
    if (start > 0) {
        memmove(s->buf, s->buf + start, s->len - start);
        s->len -= start;
    }
    if (s->len == sizeof s->buf || (at_eof && s->len > 0)) {
        emit(s, s->buf, s->len, at_eof ? 'F' : 'P');
        s->len = 0;
    }
}

/* Reads what is there; returns 0 at EOF or on error, 1 otherwise. */
static int pump(struct stream *s) {
    ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
    if (n <= 0) {
        flush_lines(s, 1);
        close(s->fd);
        s->fd = -1;
        return 0;
    }
    s->len += (size_t)n;
    flush_lines(s, 0);
    return 1;
}

static long read_oom_kills(const char *path) {
    char text[4096];
    if (!path) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return 0;
    text[n] = '\0';
    for (char *p = text; (p = strstr(p, "oom_kill ")) != NULL; p++) {
        if (p == text || p[-1] == '\n') return strtol(p + 9, NULL, 10);
    }
    return 0;
}

static void write_exit_file(const char *path, int status, const char *oom_path) {
    char tmp[4096];
    char stamp[48];
    char body[256];
    int code = 255, sig = 0;
    if (WIFEXITED(status)) code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) {
        sig = WTERMSIG(status);
        code = 128 + sig;
    }
    now_rfc3339(stamp, sizeof stamp);
    int n = snprintf(body, sizeof body,
                     "{\"exitCode\": %d, \"signal\": %d, \"finishedAt\": \"%s\", \"oomKilled\": %s}\n",
                     code, sig, stamp, read_oom_kills(oom_path) > 0 ? "true" : "false");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    write_all(fd, body, (size_t)n);
    fsync(fd);
    close(fd);
    rename(tmp, path);
}

static void report(int fd, const char *text) {
    write_all(fd, text, strlen(text));
    close(fd);
}

static pid_t read_pid_file(const char *path) {
    char text[32] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    return n > 0 ? (pid_t)strtol(text, NULL, 10) : -1;
}

static int keeper(int sync_fd, char **argv, const char *exit_path, const char *pid_path,
                  const char *oom_path) {
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int out[2], err[2];
    sigset_t mask;
    setsid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (chdir("/") != 0) return 1;
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        report(sync_fd, "cannot create pipes");
        return 1;
    }
    pid_t runtime = fork();
    if (runtime == 0) {
        sigprocmask(SIG_UNBLOCK, &mask, NULL);
        dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    int status = 0;
    while (waitpid(runtime, &status, 0) < 0 && errno == EINTR) {
    }
    pid_t init = read_pid_file(pid_path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || init <= 0) {
        char msg[8192];
        fcntl(err[0], F_SETFL, O_NONBLOCK);
        ssize_t n = read(err[0], msg, sizeof msg - 1);
        msg[n > 0 ? n : 0] = '\0';
        report(sync_fd, n > 0 ? msg : "runtime create failed without a message");
        return 1;
    }
    char ok[64];
    snprintf(ok, sizeof ok, "ok %d %d\n", (int)init, (int)getpid());
    report(sync_fd, ok);

    open_log();
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    struct stream streams[2] = {{"stdout", out[0], {0}, 0}, {"stderr", err[0], {0}, 0}};
    int exited = 0, init_status = 0;
    struct timespec deadline = {0, 0};
    for (;;) {
        struct pollfd fds[3] = {{sfd, POLLIN, 0}, {streams[0].fd, POLLIN, 0},
                                {streams[1].fd, POLLIN, 0}};
        if (exited && streams[0].fd < 0 && streams[1].fd < 0) break;
        int timeout = -1;
        if (exited) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long left = (deadline.tv_sec - now.tv_sec) * 1000 +
                        (deadline.tv_nsec - now.tv_nsec) / 1000000;
            if (left <= 0) break;
            timeout = (int)left;
        }
        if (poll(fds, 3, timeout) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (streams[i].fd >= 0 && (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                pump(&streams[i]);
        }
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1) open_log();
            pid_t pid;
            int st;
            while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                if (pid == init && !exited) {
                    exited = 1;
                    init_status = st;
                    /* Descendants may hold the pipes open: drain for at most 1 s. */
                    clock_gettime(CLOCK_MONOTONIC, &deadline);
                    deadline.tv_sec += 1;
                }
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        if (streams[i].fd >= 0) flush_lines(&streams[i], 1);
    }
    write_exit_file(exit_path, init_status, oom_path);
    return 0;
}

static int usage(void) {
    fprintf(stderr, "usage: berth-monitor -l LOG -e EXITFILE -p PIDFILE [-o OOMFILE] -- RUNTIME...\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *exit_path = NULL, *pid_path = NULL, *oom_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "l:e:p:o:")) != -1) {
        switch (opt) {
        case 'l': log_path = optarg; break;
        case 'e': exit_path = optarg; break;
        case 'p': pid_path = optarg; break;
        case 'o': oom_path = optarg; break;
        default: return usage();
        }
    }
    if (!exit_path || !pid_path || optind >= argc) return usage();
    int sync_pipe[2];
    if (pipe2(sync_pipe, O_CLOEXEC) != 0) return 1;
    pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
        close(sync_pipe[0]);
        _exit(keeper(sync_pipe[1], argv + optind, exit_path, pid_path, oom_path));
    }
    close(sync_pipe[1]);
    char msg[8192];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof msg - 1 &&
           ((n = read(sync_pipe[0], msg + len, sizeof msg - 1 - len)) > 0 || (n < 0 && errno == EINTR))) {
        if (n > 0) len += (size_t)n;
    }
    msg[len] = '\0';
    if (strncmp(msg, "ok ", 3) == 0) {
        fputs(msg + 3, stdout);
        return 0;
    }
    fputs(len ? msg : "monitor: keeper ended without a report\n", stderr);
    return 1;
}
