/*
 * The runner: the loop that reads frames from fd-backed ports and hands
 * them to their switch.
 *
 * One epoll set watches every port's fd (level-triggered) and an eventfd
 * that wakes the loop to stop.  When a port is readable the runner asks
 * its kind for a batch (recvmmsg on a packet socket, one readv per frame
 * on a TAP) into buffers the runner owns, and forwards the batch with one
 * dp_switch_input call (one lock of the switch per batch).  The batch is
 * sent on before the next read, so one set of DP_BATCH buffers of
 * DP_FRAME_MAX bytes serves every port: nothing is allocated per frame.
 * A busy port is read at most ROUNDS batches in a row before the others
 * get their turn.
 *
 * vmkd either runs the loop in a thread of its own (dp_runner_start) or
 * puts dp_runner_fd in its own event loop and calls dp_runner_poll(r, 0)
 * when it is readable.
 *
 * Busy polling: the thread keeps polling without sleeping for a while
 * (DP_BUSY_POLL_US, 100 us, by default) after the last frame it handled,
 * then sleeps in epoll_wait.  A TCP stream between two adapters is a
 * ping-pong of segments and ACKs through this thread; sleeping between
 * them puts a wakeup (and on a busy host a scheduling delay) on every
 * hop.  Measured on a 2-CPU machine: TCP between two vmknics +30 % with
 * 100 us.  The cost is at most that much spinning after each burst; an
 * idle switch sleeps.
 *
 * Shaping queues: a shaped port's frames that must wait (shaping.c) go
 * on when its buckets allow, which no fd says.  After each round of
 * events the loop sends on the queues whose time (shaper.due_ns) has come
 * and arms a timerfd, in the same epoll set, for the earliest of the
 * others, to the nanosecond (an epoll timeout's milliseconds would let
 * the 1 ms peak bucket overflow and lower the rate).  This takes the
 * switch's clock to be CLOCK_MONOTONIC, its default; switches with a
 * fake clock (tests) call dp_port_shaper_run themselves.
 *
 * Ports come and go while the loop runs: each is registered in a slot and
 * the epoll data carries the slot number and a generation.  The loop
 * handles the events of one epoll_wait under the runner's mutex, and
 * dp_runner_del takes that mutex, so once it returns no event fetched
 * earlier can reach the removed port.  A port whose fd fails for good
 * (its TAP or interface was deleted) leaves the epoll set rather than
 * wake the loop forever.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "datapath.h"

#define EV_WAKE UINT64_MAX
#define EV_TIMER (UINT64_MAX - 1)
#define EV_MAX 64
#define ROUNDS 4

struct slot {
	struct dp_port *port;	/* NULL: free */
	uint32_t gen;
	bool dead;		/* left the epoll set after a fatal error */
};

struct dp_runner {
	int epfd, evfd, tfd;
	uint64_t armed_ns;	/* what the timerfd is set to; 0: disarmed */
	pthread_mutex_t lock;
	struct slot *slot;
	unsigned nslots;
	uint32_t gen;
	struct dp_frame frames[DP_BATCH];
	uint8_t *pool;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	atomic_uint busy_poll_us;
};

static int watch(int epfd, int fd, uint64_t data)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = data };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int runner_setup(struct dp_runner *r)
{
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	r->pool = malloc((size_t)DP_BATCH * DP_FRAME_MAX);
	if (r->epfd < 0 || r->evfd < 0 || r->tfd < 0 || !r->pool)
		return -1;
	if (watch(r->epfd, r->tfd, EV_TIMER) < 0)
		return -1;
	for (unsigned i = 0; i < DP_BATCH; i++) {
		r->frames[i].buf = r->pool + (size_t)i * DP_FRAME_MAX;
		r->frames[i].cap = DP_FRAME_MAX;
	}
	return watch(r->epfd, r->evfd, EV_WAKE);
}

struct dp_runner *dp_runner_new(void)
{
	struct dp_runner *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->epfd = r->evfd = r->tfd = -1;
	atomic_init(&r->busy_poll_us, DP_BUSY_POLL_US);
	pthread_mutex_init(&r->lock, NULL);
	if (runner_setup(r) < 0) {
		dp_runner_free(r);
		return NULL;
	}
	return r;
}

void dp_runner_free(struct dp_runner *r)
{
	if (!r)
		return;
	dp_runner_stop(r);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->evfd >= 0)
		close(r->evfd);
	if (r->tfd >= 0)
		close(r->tfd);
	pthread_mutex_destroy(&r->lock);
	free(r->slot);
	free(r->pool);
	free(r);
}

static int slot_get(struct dp_runner *r)
{
	for (unsigned i = 0; i < r->nslots; i++)
		if (!r->slot[i].port)
			return (int)i;
	unsigned n = r->nslots ? 2 * r->nslots : 16;
	struct slot *s = realloc(r->slot, n * sizeof(*s));
	if (!s)
		return -1;
	memset(s + r->nslots, 0, (n - r->nslots) * sizeof(*s));
	r->slot = s;
	r->nslots = n;
	return slot_get(r);
}

int dp_runner_add(struct dp_runner *r, struct dp_port *p)
{
	int rc = 0;

	if (p->fd < 0 || !p->ops->recv)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	int i = slot_get(r);
	if (i < 0) {
		rc = -ENOMEM;
	} else {
		struct slot *s = &r->slot[i];
		*s = (struct slot){ .port = p, .gen = ++r->gen };
		if (watch(r->epfd, p->fd, (uint64_t)s->gen << 32 | (unsigned)i) < 0) {
			rc = -errno;
			s->port = NULL;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void dp_runner_del(struct dp_runner *r, struct dp_port *p)
{
	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < r->nslots; i++) {
		struct slot *s = &r->slot[i];
		if (s->port != p)
			continue;
		if (!s->dead)
			epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->fd, NULL);
		s->port = NULL;
	}
	pthread_mutex_unlock(&r->lock);
}

int dp_runner_fd(struct dp_runner *r)
{
	return r->epfd;
}

static void frames_reset(struct dp_runner *r)
{
	for (unsigned i = 0; i < DP_BATCH; i++) {
		struct dp_frame *f = &r->frames[i];
		memset(&f->vnet, 0, sizeof(f->vnet));
		f->data = f->buf;
		f->len = 0;
		f->tci = 0;
		f->tag_meta = false;
		f->vlan = 0;
	}
}

static bool fatal(int err)
{
	return err != -EAGAIN && err != -EINTR && err != -ENETDOWN &&
	       err != -ENOBUFS && err != -ENOMEM;
}

/* Reads and forwards up to ROUNDS batches from the port in slot s. */
static int service(struct dp_runner *r, struct slot *s)
{
	struct dp_port *p = s->port;
	int total = 0;

	for (int round = 0; round < ROUNDS; round++) {
		frames_reset(r);
		int n = p->ops->recv(p, r->frames, DP_BATCH);
		if (n < 0 && fatal(n)) {
			epoll_ctl(r->epfd, EPOLL_CTL_DEL, p->fd, NULL);
			s->dead = true;
		}
		if (n <= 0)
			break;
		struct dp_switch *sw = __atomic_load_n(&p->sw, __ATOMIC_ACQUIRE);
		if (sw)
			dp_switch_input(sw, p, r->frames, (unsigned)n);
		total += n;
		if (n < DP_BATCH)
			break;
	}
	return total;
}

static void drain_wake(struct dp_runner *r)
{
	uint64_t v;

	while (read(r->evfd, &v, sizeof(v)) > 0)
		;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void drain_timer(struct dp_runner *r)
{
	uint64_t v;

	if (read(r->tfd, &v, sizeof(v)) < 0) {
		/* not expired (EAGAIN): nothing to clear */
	}
	r->armed_ns = 0;	/* fired (or about to be re-armed anyway) */
}

/* Sends on the shaping queues that are due; arms the timer for the next. */
static int run_shapers(struct dp_runner *r)
{
	uint64_t now = 0, next = 0;
	int ran = 0;

	for (unsigned i = 0; i < r->nslots; i++) {
		struct dp_port *p = r->slot[i].port;
		uint64_t due = p ? dp_port_shaper_due(p) : 0;
		if (!due)
			continue;
		if (!now)
			now = mono_ns();
		if (due <= now) {
			dp_port_shaper_run(p);
			ran++;
			due = dp_port_shaper_due(p);
		}
		if (due && (!next || due < next))
			next = due;
	}
	if (next != r->armed_ns) {
		struct itimerspec its = { 0 };
		its.it_value.tv_sec = (time_t)(next / 1000000000u);
		its.it_value.tv_nsec = (long)(next % 1000000000u);
		if (timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
			r->armed_ns = next;
	}
	return ran;
}

static struct slot *slot_of(struct dp_runner *r, uint64_t data)
{
	unsigned i = (unsigned)(data & 0xffffffffu);
	struct slot *s = i < r->nslots ? &r->slot[i] : NULL;

	if (!s || !s->port || s->dead || s->gen != (uint32_t)(data >> 32))
		return NULL;
	return s;
}

int dp_runner_poll(struct dp_runner *r, int timeout_ms)
{
	struct epoll_event ev[EV_MAX];
	int n = epoll_wait(r->epfd, ev, EV_MAX, timeout_ms), frames = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == EV_WAKE) {
			drain_wake(r);
			continue;
		}
		if (ev[i].data.u64 == EV_TIMER) {
			drain_timer(r);
			continue;
		}
		struct slot *s = slot_of(r, ev[i].data.u64);
		if (s)
			frames += service(r, s);
	}
	frames += run_shapers(r);
	pthread_mutex_unlock(&r->lock);
	return frames;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void dp_runner_set_busy_poll(struct dp_runner *r, unsigned usec)
{
	atomic_store(&r->busy_poll_us, usec);
}

/* Polls without sleeping for busy_poll_us after the last frame, then
 * sleeps in epoll_wait until the next one. */
static void *runner_main(void *arg)
{
	struct dp_runner *r = arg;
	uint64_t busy_until = 0;

	while (!atomic_load(&r->stop)) {
		unsigned spin = atomic_load(&r->busy_poll_us);
		bool busy = spin && mono_us() < busy_until;
		if (dp_runner_poll(r, busy ? 0 : 1000) > 0 && spin)
			busy_until = mono_us() + spin;
	}
	return NULL;
}

int dp_runner_start(struct dp_runner *r)
{
	if (r->running)
		return -EALREADY;
	atomic_store(&r->stop, false);
	int rc = pthread_create(&r->thread, NULL, runner_main, r);
	if (rc)
		return -rc;
	pthread_setname_np(r->thread, "vmk-datapath");
	r->running = true;
	return 0;
}

void dp_runner_stop(struct dp_runner *r)
{
	uint64_t one = 1;

	if (!r->running)
		return;
	atomic_store(&r->stop, true);
	if (write(r->evfd, &one, sizeof(one)) < 0) {
		/* the counter is full: the loop is awake already */
	}
	pthread_join(r->thread, NULL);
	r->running = false;
}
