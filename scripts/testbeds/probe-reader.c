/*
 * Smoke test of the emulated reader through the real libusb code path.
 *
 *   gcc -O2 -Wall -o probe-reader probe-reader.c $(pkg-config --cflags --libs libusb-1.0) -lpthread
 *   . DIR/env && ./probe-reader DIR [0316:5020]    (DIR = the emulator's --state-dir)
 *
 * Expects a simulator that behaves like echo-sim.py. Checks: find card, a 2321-byte read
 * (30 10), round-trip times, a read timeout, unplug (SIGUSR1 to the emulator) during a
 * pending read and on submit, and replug (SIGUSR2) with re-enumeration in this process.
 * Exit status 0 when everything passed.
 */
#include <libusb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int VID = 0x0400, PID = 0xC35A;
static int stream_model; /* 0316:5020: OUT 0x01, IN 0x82, at most 64 bytes a read */
static unsigned char EP_IDLE = 0x81, EP_IDLE2 = 0x85;

static const unsigned char FIND_CARD[] = {0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22};
static const unsigned char READ_ALL[] = {0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x30, 0x10, 0x23};
static const unsigned char FIND_OK[] = {0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x08, 0x00,
                                        0x00, 0x9F, 0x00, 0x00, 0x00, 0x00, 0x97};

static libusb_context *ctx;
static pid_t emulator_pid;
static int failures;

#define CHECK(cond, ...) do { if (cond) { printf("ok   "); } else { printf("FAIL "); failures++; } \
                              printf(__VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static libusb_device_handle *open_reader(int wait_ms)
{
    double end = now_ms() + wait_ms;
    do {
        libusb_device **list;
        libusb_device_handle *h = NULL;
        ssize_t n = libusb_get_device_list(ctx, &list);
        for (ssize_t i = 0; i < n && !h; i++) {
            struct libusb_device_descriptor d;
            if (libusb_get_device_descriptor(list[i], &d) == 0 && d.idVendor == VID && d.idProduct == PID) {
                int r = libusb_open(list[i], &h);
                if (r != 0) {
                    printf("     libusb_open: %s\n", libusb_error_name(r));
                    h = NULL;
                } else {
                    printf("     opened bus %d address %d\n", libusb_get_bus_number(list[i]),
                           libusb_get_device_address(list[i]));
                }
            }
        }
        libusb_free_device_list(list, 1);
        if (h) {
            int r = libusb_claim_interface(h, 0);
            if (r != 0) {
                printf("     claim: %s\n", libusb_error_name(r));
                libusb_close(h);
                return NULL;
            }
            return h;
        }
        usleep(20000);
    } while (now_ms() < end);
    return NULL;
}

/* One request/response. Returns the response length (7 + LEN) or a libusb error. */
static int exchange(libusb_device_handle *h, const unsigned char *req, int reqlen,
                    unsigned char *resp, int cap, unsigned timeout)
{
    int n, r;
    if (stream_model) {
        for (int off = 0; off < reqlen; off += 64) {
            int k = reqlen - off < 64 ? reqlen - off : 64;
            if ((r = libusb_bulk_transfer(h, 0x01, (unsigned char *)req + off, k, &n, timeout)) != 0) return r;
        }
        int got = 0, want = 7;
        while (got < want) {
            unsigned char chunk[4096];
            if ((r = libusb_bulk_transfer(h, 0x82, chunk, sizeof chunk, &n, timeout)) != 0) return r;
            if (n > 64 || got + n > cap) return LIBUSB_ERROR_OVERFLOW;
            memcpy(resp + got, chunk, n);
            got += n;
            if (got >= 7) want = 7 + (resp[5] << 8 | resp[6]);
            if (got > want) return LIBUSB_ERROR_OVERFLOW;
        }
        return got;
    }
    if ((r = libusb_bulk_transfer(h, 0x02, (unsigned char *)req, 7, &n, timeout)) != 0) return r;
    if ((r = libusb_bulk_transfer(h, 0x06, (unsigned char *)req + 7, reqlen - 7, &n, timeout)) != 0) return r;
    unsigned char head[64];
    if ((r = libusb_bulk_transfer(h, 0x81, head, sizeof head, &n, timeout)) != 0) return r;
    if (n != 7 || memcmp(head, FIND_OK, 5) != 0) {
        printf("     bad header (%d bytes)\n", n);
        return LIBUSB_ERROR_OTHER;
    }
    int len = head[5] << 8 | head[6];
    if (7 + len > cap) return LIBUSB_ERROR_OVERFLOW;
    memcpy(resp, head, 7);
    int got = 0;
    while (got < len) {
        unsigned char chunk[4096];
        if ((r = libusb_bulk_transfer(h, 0x85, chunk, sizeof chunk, &n, timeout)) != 0) return r;
        if (got + n > len) return LIBUSB_ERROR_OVERFLOW;
        memcpy(resp + 7 + got, chunk, n);
        got += n;
    }
    return 7 + len;
}

static int checksum_ok(const unsigned char *f, int total)
{
    unsigned char c = 0;
    for (int i = 5; i < total - 1; i++) c ^= f[i];
    return c == f[total - 1];
}

static void *unplug_later(void *arg)
{
    usleep(*(int *)arg * 1000);
    kill(emulator_pid, SIGUSR1);
    return NULL;
}

int main(int argc, char **argv)
{
    static unsigned char resp[4096];
    char path[4096];
    int r;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s STATE_DIR [VID:PID]   (run with the environment from STATE_DIR/env)\n", argv[0]);
        return 2;
    }
    if (argc == 3) {
        if (sscanf(argv[2], "%x:%x", &VID, &PID) != 2) return 2;
        stream_model = VID == 0x0316 && PID == 0x5020;
        if (stream_model) EP_IDLE = EP_IDLE2 = 0x82;
    }
    snprintf(path, sizeof path, "%s/pid", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%d", &emulator_pid) != 1) {
        fprintf(stderr, "cannot read %s\n", path);
        return 2;
    }
    fclose(f);

    if ((r = libusb_init(&ctx)) != 0) {
        fprintf(stderr, "libusb_init: %s\n", libusb_error_name(r));
        return 1;
    }
    libusb_device_handle *h = open_reader(0);
    CHECK(h != NULL, "open %04x:%04x and claim interface 0", VID, PID);
    if (!h) return 1;

    unsigned char s[128];
    r = libusb_get_string_descriptor_ascii(h, 2, s, sizeof s);
    CHECK(r > 0, "product string: %s", r > 0 ? (char *)s : libusb_error_name(r));

    r = exchange(h, FIND_CARD, sizeof FIND_CARD, resp, sizeof resp, 1000);
    CHECK(r == sizeof FIND_OK && memcmp(resp, FIND_OK, r) == 0, "find card: %d bytes", r);

    r = exchange(h, READ_ALL, sizeof READ_ALL, resp, sizeof resp, 3000);
    CHECK(r == 2321 && checksum_ok(resp, r), "read 30 10: %d bytes, checksum %s", r,
          r > 0 && checksum_ok(resp, r) ? "good" : "bad");

    /* Round trips */
    double t0 = now_ms();
    int ok = 0;
    for (int i = 0; i < 100; i++)
        ok += exchange(h, FIND_CARD, sizeof FIND_CARD, resp, sizeof resp, 1000) == 15;
    double t1 = now_ms();
    CHECK(ok == 100, "100 find-card round trips: %.2f ms each", (t1 - t0) / 100);
    ok = 0;
    for (int i = 0; i < 50; i++) {
        r = exchange(h, READ_ALL, sizeof READ_ALL, resp, sizeof resp, 3000);
        ok += r == 2321 && checksum_ok(resp, r);
    }
    double t2 = now_ms();
    CHECK(ok == 50, "50 reads of 2321 bytes: %.2f ms each", (t2 - t1) / 50);

    /* Nothing queued: the read must time out after the given time */
    int n;
    unsigned char head[64];
    t0 = now_ms();
    r = libusb_bulk_transfer(h, EP_IDLE, head, sizeof head, &n, 300);
    t1 = now_ms();
    CHECK(r == LIBUSB_ERROR_TIMEOUT && t1 - t0 >= 295 && t1 - t0 < 600,
          "idle read on 0x%02x: %s after %.0f ms (timeout 300)", EP_IDLE, libusb_error_name(r), t1 - t0);
    r = libusb_bulk_transfer(h, EP_IDLE2, head, sizeof head, &n, 100);
    CHECK(r == LIBUSB_ERROR_TIMEOUT, "idle read on 0x%02x: %s", EP_IDLE2, libusb_error_name(r));
    r = exchange(h, FIND_CARD, sizeof FIND_CARD, resp, sizeof resp, 1000);
    CHECK(r == 15, "find card after the timeouts: %d bytes", r);

    /* Unplug while a read is pending */
    pthread_t th;
    int delay = 200;
    pthread_create(&th, NULL, unplug_later, &delay);
    t0 = now_ms();
    r = libusb_bulk_transfer(h, EP_IDLE, head, sizeof head, &n, 5000);
    t1 = now_ms();
    pthread_join(th, NULL);
    CHECK(r == LIBUSB_ERROR_NO_DEVICE, "pending read at unplug: %s after %.0f ms", libusb_error_name(r), t1 - t0);
    r = exchange(h, FIND_CARD, sizeof FIND_CARD, resp, sizeof resp, 1000);
    CHECK(r == LIBUSB_ERROR_NO_DEVICE, "exchange after unplug: %s", libusb_error_name(r));
    libusb_close(h);
    h = open_reader(300);
    CHECK(h == NULL, "no reader while unplugged");

    /* Plug back in: re-enumerate and reopen in this process */
    kill(emulator_pid, SIGUSR2);
    t0 = now_ms();
    h = open_reader(3000);
    t1 = now_ms();
    CHECK(h != NULL, "reader back after replug (%.0f ms)", t1 - t0);
    if (h) {
        r = exchange(h, FIND_CARD, sizeof FIND_CARD, resp, sizeof resp, 1000);
        CHECK(r == 15, "find card after replug: %d bytes", r);
        r = exchange(h, READ_ALL, sizeof READ_ALL, resp, sizeof resp, 3000);
        CHECK(r == 2321 && checksum_ok(resp, r), "read 30 10 after replug: %d bytes", r);
        libusb_release_interface(h, 0);
        libusb_close(h);
    }
    libusb_exit(ctx);
    printf("%s (%d failure%s)\n", failures ? "FAILED" : "PASSED", failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
