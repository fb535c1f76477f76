/*
 * mock-kafka-host: hosts librdkafka's in-process mock Kafka cluster as a standalone process so
 * that Node clients (kafkajs) can talk the real Kafka protocol locally without a JVM broker.
 *
 * Usage: mock-kafka-host [--brokers N] [--api-version KEY:MIN:MAX ...] [topic:partitions ...]
 *        mock-kafka-host --version       prints "librdkafka <version>" and exits
 *
 * Protocol on stdout (one line each, flushed):
 *   READY <host:port,host:port,...> <librdkafka version>   once the cluster and the initial topics exist
 *   OK <topic> <partitions>              answer to a "create" command
 *   ERR <message>                        answer to a bad command or a failed create
 * Commands on stdin, one per line:
 *   create <topic> <partitions>
 * The process exits when stdin reaches EOF (so a dead parent never leaves it orphaned) or on
 * SIGTERM / SIGINT.
 *
 * Build: gcc -O2 -o mock-kafka-host mock-kafka-host.c -lrdkafka (or, against a static build,
 * -I<include> librdkafka.a -lm -lpthread ...): see build.ts.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

/* Replication factor must not exceed the broker count; 3 matches a typical MSK cluster. */
static int replication_for(int brokers) {
        return brokers < 3 ? brokers : 3;
}

static int create_topic(rd_kafka_mock_cluster_t *mcluster, int brokers, const char *name,
                        int partitions, char *errbuf, size_t errlen) {
        if (!name[0] || partitions < 1 || partitions > 10000) {
                snprintf(errbuf, errlen, "invalid topic spec %s:%d", name, partitions);
                return -1;
        }
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(mcluster, name, partitions, replication_for(brokers));
        if (err) {
                snprintf(errbuf, errlen, "create %s: %s", name, rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

/* Splits "name:partitions" at the LAST colon so topic names could contain colons if ever needed. */
static int parse_spec(char *spec, char **name, int *partitions) {
        char *colon = strrchr(spec, ':');
        if (!colon)
                return -1;
        *colon = '\0';
        char *end = NULL;
        long n = strtol(colon + 1, &end, 10);
        if (!end || *end != '\0' || n < 1 || n > 10000)
                return -1;
        *name = spec;
        *partitions = (int)n;
        return 0;
}

static void handle_command(rd_kafka_mock_cluster_t *mcluster, int brokers, char *line) {
        char errbuf[512];
        char *nl = strpbrk(line, "\r\n");
        if (nl)
                *nl = '\0';
        char *cmd = strtok(line, " \t");
        if (!cmd)
                return;
        if (strcmp(cmd, "create") == 0) {
                char *name = strtok(NULL, " \t");
                char *count = strtok(NULL, " \t");
                char *end = NULL;
                long n = count ? strtol(count, &end, 10) : 0;
                if (!name || !count || !end || *end != '\0') {
                        printf("ERR usage: create <topic> <partitions>\n");
                } else if (create_topic(mcluster, brokers, name, (int)n, errbuf, sizeof errbuf)) {
                        printf("ERR %s\n", errbuf);
                } else {
                        printf("OK %s %ld\n", name, n);
                }
        } else if (strcmp(cmd, "ping") == 0) {
                printf("PONG\n");
        } else {
                printf("ERR unknown command %s\n", cmd);
        }
        fflush(stdout);
}

int main(int argc, char **argv) {
        int brokers = 1;
        char errstr[512];

        /* A vanished parent must not kill us with SIGPIPE while we answer a command; EOF ends us cleanly. */
        signal(SIGPIPE, SIG_IGN);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        if (argc == 2 && strcmp(argv[1], "--version") == 0) {
                printf("librdkafka %s\n", rd_kafka_version_str());
                return 0;
        }

        struct {
                int16_t key, min, max;
        } caps[64];
        int caps_cnt = 0;
        int first_topic = 1;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
                        brokers = atoi(argv[++i]);
                } else if (strcmp(argv[i], "--api-version") == 0 && i + 1 < argc) {
                        int key, min, max;
                        if (caps_cnt >= 64 ||
                            sscanf(argv[++i], "%d:%d:%d", &key, &min, &max) != 3) {
                                fprintf(stderr, "mock-kafka-host: --api-version wants KEY:MIN:MAX\n");
                                return 2;
                        }
                        caps[caps_cnt].key = (int16_t)key;
                        caps[caps_cnt].min = (int16_t)min;
                        caps[caps_cnt].max = (int16_t)max;
                        caps_cnt++;
                } else {
                        break;
                }
                first_topic = i + 1;
        }
        if (brokers < 1 || brokers > 32) {
                fprintf(stderr, "mock-kafka-host: --brokers must be 1..32\n");
                return 2;
        }

        /* The mock cluster needs an rd_kafka_t for bookkeeping only; it never connects anywhere. */
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        if (!rk) {
                fprintf(stderr, "mock-kafka-host: rd_kafka_new: %s\n", errstr);
                return 1;
        }
        rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mcluster) {
                fprintf(stderr, "mock-kafka-host: rd_kafka_mock_cluster_new failed\n");
                return 1;
        }

#if RD_KAFKA_VERSION > 0x020002ff
        /*
         * Newer mocks (2.12 measured) advertise LeaveGroup up to v4; kafkajs 2.2.4 then sends the
         * v3 members-array layout, which the mock mis-parses (a leaving consumer's group waits out
         * the session timeout and errors are logged). v2 has the v0-v1 layout that Debian's 2.0.2
         * mock advertises and parses.
         */
        if (rd_kafka_mock_set_apiversion(mcluster, 13 /* LeaveGroup */, 0, 2)) {
                fprintf(stderr, "mock-kafka-host: could not cap LeaveGroup at v2\n");
                return 1;
        }
#endif

        /*
         * Some mock versions advertise API versions whose request layout they do not parse the way
         * kafkajs writes it; --api-version lets the caller cap more of those without rebuilding.
         * With the Debian 2.0.2 mock none is needed for kafkajs 2.2.4.
         */
        for (int i = 0; i < caps_cnt; i++) {
                rd_kafka_resp_err_t err =
                    rd_kafka_mock_set_apiversion(mcluster, caps[i].key, caps[i].min, caps[i].max);
                if (err) {
                        fprintf(stderr, "mock-kafka-host: api version cap %d: %s\n", caps[i].key,
                                rd_kafka_err2str(err));
                        return 1;
                }
        }

        for (int i = first_topic; i < argc; i++) {
                char *name;
                int partitions;
                char *spec = strdup(argv[i]);
                if (parse_spec(spec, &name, &partitions)) {
                        fprintf(stderr, "mock-kafka-host: bad topic spec '%s' (want name:partitions)\n",
                                argv[i]);
                        free(spec);
                        return 2;
                }
                if (create_topic(mcluster, brokers, name, partitions, errstr, sizeof errstr)) {
                        fprintf(stderr, "mock-kafka-host: %s\n", errstr);
                        free(spec);
                        return 1;
                }
                free(spec);
        }

        printf("READY %s %s\n", rd_kafka_mock_cluster_bootstraps(mcluster), rd_kafka_version_str());
        fflush(stdout);

        /* poll() with a timeout so that signals are noticed even while stdin stays open. */
        char line[1024];
        size_t used = 0;
        while (!stop_requested) {
                struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
                int r = poll(&pfd, 1, 200);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (r == 0)
                        continue;
                ssize_t n = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
                if (n <= 0)
                        break; /* EOF: the parent went away or closed our stdin on purpose. */
                used += (size_t)n;
                line[used] = '\0';
                char *start = line;
                char *nl;
                while ((nl = strchr(start, '\n'))) {
                        *nl = '\0';
                        handle_command(mcluster, brokers, start);
                        start = nl + 1;
                }
                used = strlen(start);
                memmove(line, start, used + 1);
                if (used >= sizeof line - 1)
                        used = 0; /* An absurdly long line is dropped rather than wedging the loop. */
        }

        /*
         * rd_kafka_mock_cluster_destroy() takes a full second once any topic exists (an internal
         * timer), which every test run and every Ctrl-C would pay. Nothing is persisted, so
         * leaving the teardown to the kernel (sockets and memory) loses nothing; the error
         * paths above skip it for the same reason.
         */
        fflush(stdout);
        _exit(0);
}
