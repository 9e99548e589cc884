/*
 * Test ports: the switch's frames land in an in-memory queue that a unit
 * test reads back, and a test injects frames as if the port had received
 * them.  A sent frame is stored as it would appear on a wire: built from
 * the same I/O vector (dp_frame_iov) the real kinds write, so a VLAN tag
 * is inline and csum_start/hdr_len are as the real port would see them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TEST_QUEUE 1024

struct test_slot {
	struct virtio_net_hdr vnet;
	uint32_t len;
	uint8_t *bytes;
};

struct test_port {
	struct dp_port port;
	struct test_slot q[TEST_QUEUE];
	unsigned head, count;
	uint8_t *scratch;
};

static struct test_port *to_test(struct dp_port *p)
{
	return (struct test_port *)p;
}

static int test_send(struct dp_port *p, const struct dp_frame *f, uint16_t tag)
{
	struct test_port *t = to_test(p);
	struct virtio_net_hdr hdr;
	uint8_t tagbuf[4];
	struct iovec iov[4];
	unsigned n = dp_frame_iov(f, tag, &hdr, tagbuf, iov);
	size_t len = 0;

	if (t->count == TEST_QUEUE)
		return -ENOBUFS;
	for (unsigned i = 1; i < n; i++)
		len += iov[i].iov_len;
	uint8_t *bytes = malloc(len ? len : 1);
	if (!bytes)
		return -ENOMEM;
	struct test_slot *s = &t->q[(t->head + t->count++) % TEST_QUEUE];
	s->vnet = hdr;
	s->len = (uint32_t)len;
	s->bytes = bytes;
	for (unsigned i = 1; i < n; i++) {
		memcpy(bytes, iov[i].iov_base, iov[i].iov_len);
		bytes += iov[i].iov_len;
	}
	return 0;
}

static void test_destroy(struct dp_port *p)
{
	struct test_port *t = to_test(p);

	dp_test_port_clear(p);
	free(t->scratch);
	free(t);
}

static const struct dp_port_ops test_ops = {
	.send = test_send,
	.destroy = test_destroy,
};

struct dp_port *dp_test_port_new(const char *name)
{
	struct test_port *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->scratch = malloc(DP_FRAME_MAX);
	if (!t->scratch) {
		free(t);
		return NULL;
	}
	dp_port_init(&t->port, &test_ops, DP_PORT_TEST, name);
	return &t->port;
}

void dp_test_port_inject(struct dp_port *p, const void *frame, size_t len,
			 const struct virtio_net_hdr *vnet)
{
	struct test_port *t = to_test(p);
	struct dp_frame f = { .buf = t->scratch, .cap = DP_FRAME_MAX };

	if (!p->sw || len > DP_FRAME_MAX)
		return;
	memcpy(t->scratch, frame, len);
	if (vnet)
		f.vnet = *vnet;
	f.data = t->scratch;
	f.len = (uint32_t)len;
	dp_switch_input(p->sw, p, &f, 1);
}

int dp_test_port_pop(struct dp_port *p, void *buf, size_t cap,
		     struct virtio_net_hdr *vnet)
{
	struct test_port *t = to_test(p);

	if (!t->count)
		return -1;
	struct test_slot *s = &t->q[t->head];
	size_t n = s->len < cap ? s->len : cap;
	memcpy(buf, s->bytes, n);
	if (vnet)
		*vnet = s->vnet;
	free(s->bytes);
	t->head = (t->head + 1) % TEST_QUEUE;
	t->count--;
	return (int)s->len;
}

unsigned dp_test_port_pending(struct dp_port *p)
{
	return to_test(p)->count;
}

void dp_test_port_clear(struct dp_port *p)
{
	uint8_t byte;

	while (dp_test_port_pop(p, &byte, 0, NULL) >= 0)
		;
}
