/*
 * berth-pause: the process that holds a pod sandbox's namespaces.
 *
 * It runs as the sandbox container (PID 1 of the pod when the pod shares
 * one PID namespace), sleeps until SIGTERM or SIGINT and reaps every child
 * reparented to it, so zombies never pile up in the pod.  It is built
 * static (gcc -static -Os) so the sandbox image is this one file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int signo) { _exit(signo == SIGTERM || signo == SIGINT ? 0 : 1); }

static void on_child(int signo) {
    (void)signo;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(int argc, char **argv) {
    struct sigaction sa;
    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        puts("berth-pause 1");
        return 0;
    }
    if (getpid() != 1) fprintf(stderr, "berth-pause: warning: not PID 1\n");
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);
    for (;;) pause();
    return 1;
}
