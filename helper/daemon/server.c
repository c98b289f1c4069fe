/* SPDX-License-Identifier: MIT */
/* Listening sockets, the answering threads and connection threads. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "helper/daemon/authz.h"
#include "helper/daemon/log.h"
#include "helper/daemon/migrate.h"
#include "helper/daemon/priority.h"
#include "helper/daemon/server.h"
#include "helper/daemon/slots.h"
#include "helper/daemon/stopping.h"
#include "helper/daemon/munge_auth.h"

/* A whole request must arrive within this: no slow clients holding threads. */
#define REQUEST_TIMEOUT_MS 10000
/* A whole reply must be read within this: a slow reader loses it. */
#define REPLY_TIMEOUT_MS 10000
/* A progress frame, likewise: the move goes on without the reader. */
#define PROGRESS_TIMEOUT_MS 2000
/*
 * Threads that accept connections and answer quick requests (status,
 * ping, root's register) themselves: no thread is started per status,
 * and a request is not handed from the accepting thread to another.
 */
#define ANSWERERS 4
/* How long an answerer waits for a request to arrive before handing
 * its connection to a thread of its own. */
#define QUICK_WAIT_MS 50
/* A quick reply larger than this goes by a thread of its own: well below
 * the socket's send buffer, it leaves at once. */
#define QUICK_REPLY_MAX (16 * 1024)

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conn_cond = PTHREAD_COND_INITIALIZER;
static int nconns;

/* One client connection, served by a thread of its own. */
struct conn {
	struct nm_daemon *d;	/* the daemon it talks to */
	int fd;			/* the accepted socket */
	bool tcp;		/* TCP (MUNGE credential) rather than Unix */
	struct nm_caller who;	/* who the peer is, as far as known */
	bool progress_dead;	/* a progress frame failed: send no more */
	bool answered;		/* the reply went before the request ended */
	bool slot;		/* holds a slot for who.uid (slots.c) */
	bool unauthenticated;	/* holds an unauthenticated TCP slot */
	bool has_req;		/* req was read by the answerer */
	struct nm_request req;
	char *late;		/* a quick reply a thread sends (send_late) */
};

static bool take_slot(struct conn *c);
static int check_host(const struct conn *c, const struct nm_request *req,
		      char *err);

static int mkdir_parent(const char *path, char *err)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	/* 0755: unprivileged callers must reach the socket. */
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		nm_seterr(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int nm_server_listen_unix(const struct nm_config *cfg, char *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(cfg->socket) >= sizeof(sa.sun_path)) {
		nm_seterr(err, "socket path too long: %s", cfg->socket);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg->socket);
	if (mkdir_parent(cfg->socket, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		nm_seterr(err, "socket: %s", strerror(errno));
		return -1;
	}
	/* A socket left by a dead daemon: replace it, unless one answers. */
	if (lstat(cfg->socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			nm_seterr(err, "%s exists and is not a socket",
				  cfg->socket);
			goto fail;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			nm_seterr(err, "%s: another numamigrated is listening",
				  cfg->socket);
			goto fail;
		}
		close(fd);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || unlink(cfg->socket) < 0) {
			nm_seterr(err, "%s: %s", cfg->socket, strerror(errno));
			goto fail;
		}
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		nm_seterr(err, "bind %s: %s", cfg->socket, strerror(errno));
		goto fail;
	}
	if (cfg->socket_group[0]) {
		struct group *gr = getgrnam(cfg->socket_group);

		if (!gr || chown(cfg->socket, 0, gr->gr_gid) < 0) {
			nm_seterr(err, "%s: cannot give it to group %s",
				  cfg->socket, cfg->socket_group);
			goto fail_unlink;
		}
	}
	if (chmod(cfg->socket, cfg->socket_mode) < 0) {
		nm_seterr(err, "chmod %s: %s", cfg->socket, strerror(errno));
		goto fail_unlink;
	}
	/*
	 * The kernel's largest backlog: a burst of clients (every rank's
	 * prolog, a hundred status callers) waits to be accepted instead of
	 * being turned away with EAGAIN.
	 */
	if (listen(fd, SOMAXCONN) < 0) {
		nm_seterr(err, "listen %s: %s", cfg->socket, strerror(errno));
		goto fail_unlink;
	}
	return fd;
fail_unlink:
	unlink(cfg->socket);
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int nm_server_listen_tcp(const struct nm_config *cfg, char *err)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr *sa;
	socklen_t len;
	int fd, one = 1;

	if (inet_pton(AF_INET, cfg->tcp_address, &s4.sin_addr) == 1) {
		s4.sin_port = htons((uint16_t)cfg->tcp_port);
		sa = (struct sockaddr *)&s4;
		len = sizeof(s4);
	} else if (inet_pton(AF_INET6, cfg->tcp_address, &s6.sin6_addr) == 1) {
		s6.sin6_port = htons((uint16_t)cfg->tcp_port);
		sa = (struct sockaddr *)&s6;
		len = sizeof(s6);
	} else {
		nm_seterr(err, "[tcp] address '%s': not an IPv4 or IPv6 "
			  "address", cfg->tcp_address);
		return -1;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		nm_seterr(err, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len) < 0 || listen(fd, SOMAXCONN) < 0) {
		nm_seterr(err, "TCP %s port %d: %s", cfg->tcp_address,
			  cfg->tcp_port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void send_progress(void *arg, uint64_t done, uint64_t total,
			  const char *phase)
{
	struct conn *c = arg;
	char err[NM_ERRLEN];
	json_t *f;

	if (c->progress_dead)
		return;
	f = nm_progress_frame(done, total, phase);
	/* A client that went away does not stop the move. */
	if (!f || nm_frame_write_json_within(c->fd, f, PROGRESS_TIMEOUT_MS,
						 err) < 0)
		c->progress_dead = true;
	json_decref(f);
}

/* @text, a reply serialised (NULL: none to send), sent and freed. */
static void reply_text(struct conn *c, char *text)
{
	char err[NM_ERRLEN];

	if (text && nm_frame_write_within(c->fd, text, strlen(text),
					  REPLY_TIMEOUT_MS, err) < 0)
		nm_log(LOG_INFO, "%s: cannot send the reply: %s", c->who.peer,
		       err);
	free(text);
}

/* @r serialised once; NULL when there is none, or it cannot be. */
static char *reply_dump(const struct conn *c, json_t *r)
{
	char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;

	if (r && !text)
		nm_log(LOG_WARNING, "%s: cannot serialise the reply",
		       c->who.peer);
	json_decref(r);
	return text;
}

static void reply(struct conn *c, json_t *r)
{
	reply_text(c, reply_dump(c, r));
}

/* The reply now; the request goes on (nm_answer_fn). */
static void answer(void *arg, json_t *r)
{
	struct conn *c = arg;

	if (c->answered)
		return;
	c->answered = true;
	reply(c, json_incref(r));
}

/* The request's end: its reply, unless it answered already. */
static void reply_last(struct conn *c, json_t *r)
{
	if (!c->answered) {
		reply(c, r);
		return;
	}
	nm_log(LOG_DEBUG, "%s: answered early; the request has ended",
	       c->who.peer);
	json_decref(r);
}

static void bad(struct conn *c, const char *msg)
{
	nm_log(LOG_NOTICE, "request from uid %u (%s): bad_request: %s",
	       (unsigned int)c->who.uid, c->who.peer, msg);
	reply(c, nm_reply_error("bad_request", msg));
}

/* TCP: the body is a MUNGE envelope; its payload is the real request. */
static int unwrap_munge(struct conn *c, char **body, size_t *len, char *err)
{
	struct nm_request env;
	char *payload;
	size_t plen;

	if (nm_request_decode(*body, *len, true, &env, err) < 0)
		return -1;
	if (nm_munge_verify(env.munge, &payload, &plen, &c->who.uid,
			    &c->who.gid, err) < 0) {
		nm_request_release(&env);
		return -1;
	}
	nm_request_release(&env);
	free(*body);
	*body = payload;
	*len = plen;
	return 0;
}

/*
 * The request of @c, read and decoded into @req: true; false when the
 * peer left or was answered already (a bad request, a denied credential).
 */
static bool read_request(struct conn *c, struct nm_request *req)
{
	char err[NM_ERRLEN];
	bool eof, ok = false;
	size_t len;
	char *body;

	body = nm_frame_read(c->fd, &len, REQUEST_TIMEOUT_MS, &eof, err);
	if (!body) {
		if (!eof)
			bad(c, err);
		return false;
	}
	if (c->tcp && unwrap_munge(c, &body, &len, err) < 0) {
		nm_log(LOG_WARNING, "request from %s: denied: %s", c->who.peer,
		       err);
		reply(c, nm_reply_error("denied", err));
		goto out;
	}
	if (c->tcp && !take_slot(c))
		goto out;
	c->who.privileged = nm_authz_privileged(&c->d->cfg, c->who.uid);
	if (nm_request_decode(body, len, false, req, err) < 0) {
		bad(c, err);
		goto out;
	}
	if (c->tcp && check_host(c, req, err) < 0) {
		nm_log(LOG_WARNING, "request from %s (uid %u): denied: %s",
		       c->who.peer, (unsigned int)c->who.uid, err);
		reply(c, nm_reply_error("denied", err));
		nm_request_release(req);
		goto out;
	}
	ok = true;
out:
	free(body);
	return ok;
}

/* @c's request @req answered; @req released. */
static void answer_request(struct conn *c, struct nm_request *req)
{
	nm_log(LOG_DEBUG, "%s from uid %u (%s)", nm_op_name(req->op),
	       (unsigned int)c->who.uid, c->who.peer);
	reply_last(c, nm_handle_request(c->d, &c->who, req, send_progress,
					answer, c));
	nm_request_release(req);
}

/* @c closed, its slot given back, and counted out. */
static void conn_end(struct conn *c)
{
	close(c->fd);
	if (c->unauthenticated)
		nm_slots_put_unauthenticated();
	if (c->slot)
		nm_slots_put(c->who.uid);
	free(c);
	pthread_mutex_lock(&conn_lock);
	nconns--;
	pthread_cond_broadcast(&conn_cond);
	pthread_mutex_unlock(&conn_lock);
}

/* A connection's whole life, on a thread of its own (or an answerer's). */
static void *serve(void *arg)
{
	struct conn *c = arg;

	pthread_setname_np(pthread_self(), "nm-conn");
	nm_priority_serve();
	if (c->has_req || read_request(c, &c->req))
		answer_request(c, &c->req);
	conn_end(c);
	return NULL;
}

/* The first label of @name, lower case, into @out. */
static void short_name(const char *name, char *out, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len && name[i] && name[i] != '.'; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[i] = '\0';
}

/*
 * A request over TCP must name this host ([tcp] host_name, else its own
 * short host name): a credential captured on its way to one node cannot
 * be replayed to another, whose replay cache has never seen it.
 */
static int check_host(const struct conn *c, const struct nm_request *req,
		      char *err)
{
	char mine[256], want[256], got[256];

	if (!req->host[0]) {
		nm_seterr(err, "request over TCP names no host: the credential "
			  "must be bound to the host it is for");
		return -1;
	}
	if (c->d->cfg.tcp_host_name[0])
		snprintf(mine, sizeof(mine), "%s", c->d->cfg.tcp_host_name);
	else if (gethostname(mine, sizeof(mine)) < 0)
		mine[0] = '\0';
	mine[sizeof(mine) - 1] = '\0';
	short_name(mine, want, sizeof(want));
	short_name(req->host, got, sizeof(got));
	if (!want[0] || strcmp(want, got) != 0) {
		nm_seterr(err, "credential is for host %.100s, this is %.100s",
			  req->host, want);
		return -1;
	}
	return 0;
}

/* A local caller: the kernel says who it is. */
static int peer_unix(struct conn *c)
{
	struct ucred uc;
	socklen_t ul = sizeof(uc);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) < 0)
		return -1;
	c->who.uid = uc.uid;
	c->who.gid = uc.gid;
	c->who.pid = uc.pid;
	snprintf(c->who.peer, sizeof(c->who.peer), "pid %d", (int)uc.pid);
	return 0;
}

/* A TCP caller: its address, and nobody until its credential says. */
static void peer_tcp(struct conn *c, const struct sockaddr_storage *ss)
{
	char host[64] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
		port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
		port = ntohs(s->sin6_port);
	}
	c->who.uid = (uid_t)-2;
	c->who.gid = (gid_t)-2;
	snprintf(c->who.peer, sizeof(c->who.peer), "tcp %s:%d", host, port);
}

/* Counts @c in: the daemon waits for every counted one to finish. */
static void admit(void)
{
	pthread_mutex_lock(&conn_lock);
	nconns++;
	pthread_mutex_unlock(&conn_lock);
}

/*
 * A slot for a caller whose uid is known (a Unix peer, or a TCP peer its
 * credential named, who then leaves the unauthenticated pool); told why
 * when there is none.
 */
static bool take_slot(struct conn *c)
{
	char why[128];

	if (c->unauthenticated) {
		nm_slots_put_unauthenticated();
		c->unauthenticated = false;
	}
	c->who.privileged = nm_authz_privileged(&c->d->cfg, c->who.uid);
	if (nm_slots_take(&c->d->cfg, c->who.uid, c->who.privileged, why,
			  sizeof(why))) {
		c->slot = true;
		return true;
	}
	nm_log(LOG_WARNING, "%s (uid %u): refused: %s", c->who.peer,
	       (unsigned int)c->who.uid, why);
	reply(c, nm_reply_error("refused", why));
	return false;
}

/* An unauthenticated TCP peer: a slot of that pool, or told why not. */
static bool take_unauthenticated(struct conn *c)
{
	char why[128];

	if (nm_slots_take_unauthenticated(&c->d->cfg, why, sizeof(why))) {
		c->unauthenticated = true;
		return true;
	}
	nm_log(LOG_WARNING, "%s: refused: %s", c->who.peer, why);
	reply(c, nm_reply_error("refused", why));
	return false;
}

/* @fn(@c) on a thread of its own; when none starts, on this one. */
static void start_thread(void *(*fn)(void *), struct conn *c)
{
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, fn, c);
	pthread_attr_destroy(&attr);
	if (!rc)
		return;
	nm_log(LOG_ERR, "cannot start a connection thread: %s", strerror(rc));
	fn(c);
}

/* A reply too big to go at once, sent by a thread of its own. */
static void *send_late(void *arg)
{
	struct conn *c = arg;

	reply_text(c, c->late);
	conn_end(c);
	return NULL;
}

/*
 * A quick request answered by the answerer that read it.  A reply the
 * socket takes at once is sent here; a bigger one (a status of
 * thousands of tasks) by a thread of its own, under the reply deadline:
 * an answerer never waits on a slow reader.
 */
static void answer_quick(struct conn *c)
{
	char *text;

	nm_log(LOG_DEBUG, "%s from uid %u (%s)", nm_op_name(c->req.op),
	       (unsigned int)c->who.uid, c->who.peer);
	/* Serialised once: its size says who sends it, then it is sent. */
	text = reply_dump(c, nm_handle_request(c->d, &c->who, &c->req,
					       send_progress, answer, c));
	nm_request_release(&c->req);
	if (text && strlen(text) > QUICK_REPLY_MAX) {
		c->late = text;
		start_thread(send_late, c);
		return;
	}
	reply_text(c, text);
	conn_end(c);
}

static bool peek_header(int fd, unsigned char head[4])
{
	return recv(fd, head, 4, MSG_PEEK | MSG_DONTWAIT) == 4;
}

/*
 * The whole request frame of @fd is in its socket buffer, or arrives
 * within QUICK_WAIT_MS: the answerer reads it without waiting on the
 * client.  Mostly it came with the connection: looked at before any wait.
 */
static bool request_arrived(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char head[4];
	uint32_t len;
	int avail;

	if (!peek_header(fd, head) &&
	    (poll(&p, 1, QUICK_WAIT_MS) != 1 || !peek_header(fd, head)))
		return false;
	if (ioctl(fd, FIONREAD, &avail) < 0)
		return false;
	len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 |
	      (uint32_t)head[2] << 8 | head[3];
	return len <= NM_PROTO_MAX_FRAME &&
	       (uint64_t)avail >= sizeof(head) + (uint64_t)len;
}

/*
 * Requests answered at once, by the answerer that accepted them: those
 * that only read or change the daemon's own state.  An unprivileged
 * register asks Slurm who owns the job, which may take seconds: a
 * thread of its own.
 */
static bool quick(const struct conn *c)
{
	switch (c->req.op) {
	case NM_OP_PING:
	case NM_OP_STATUS:
	case NM_OP_UNREGISTER:
		return true;
	case NM_OP_REGISTER:
	case NM_OP_POLICY:
		return c->who.privileged && !c->req.cgroup;
	default:
		return false;
	}
}

/*
 * @c admitted: a quick request that has arrived is answered here, the
 * rest (and TCP, whose MUNGE credential is checked by munged) on a
 * thread of its own.
 */
static void dispatch(struct conn *c)
{
	if (c->tcp || !request_arrived(c->fd)) {
		start_thread(serve, c);
		return;
	}
	if (!read_request(c, &c->req)) {
		conn_end(c);
		return;
	}
	c->has_req = true;
	if (quick(c))
		answer_quick(c);
	else
		start_thread(serve, c);
}

static void accept_one(struct nm_daemon *d, int lfd, bool tcp)
{
	/* A client that stops reading must not stall a frozen job. */
	struct timeval tv = { .tv_sec = 2 };
	int sndbuf = 64 * 1024;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct conn *c;
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->d = d;
	c->fd = fd;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/*
	 * A small send buffer: what a client has not read stays in the
	 * daemon's reply, under the reply deadline, rather than in the
	 * kernel (which would take ~400 KiB of a status unread per client).
	 */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	c->tcp = tcp;
	if (tcp)
		peer_tcp(c, &ss);
	else if (peer_unix(c) < 0)
		goto drop;
	if (tcp ? !take_unauthenticated(c) : !take_slot(c))
		goto drop;
	admit();
	dispatch(c);
	return;
drop:
	close(fd);
	free(c);
}

/*
 * Told to stop: every waiting move is refused, every running one
 * cancelled (its engine stops before the next batch, its job is thawed,
 * its client told why), then the connections
 * get a bounded time to finish: a freeze under way ends within
 * freeze_timeout, a cancelled move within a batch.  Whatever is still
 * open after that is left behind: the daemon exits all the same, within
 * the bound the systemd unit's TimeoutStopSec allows for.
 */
static void stop_serving(struct nm_daemon *d, int sig)
{
	int bound = d->cfg.freeze_timeout_ms / 1000 + NM_STOP_WAIT_S;
	int n, rc = 0;
	struct timespec until;

	/* Waiting moves are refused at once rather than sit out their wait. */
	nm_migrate_close_queue("numamigrated is stopping");
	n = nm_stopping_cancel_all();

	nm_log(LOG_NOTICE, "signal %d: stopping, %d move(s) cancelled", sig,
	       n);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += bound;
	pthread_mutex_lock(&conn_lock);
	if (nconns)
		nm_log(LOG_NOTICE, "waiting for %d connection(s) to finish "
		       "(at most %d s)", nconns, bound);
	while (nconns && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&conn_cond, &conn_lock, &until);
	n = nconns;
	pthread_mutex_unlock(&conn_lock);
	if (!n)
		return;
	/* Their threads may still use the daemon's state: no cleanup. */
	nm_log(LOG_WARNING, "%d connection(s) still open after %d s: "
	       "stopped without them (signal %d)", n, bound, sig);
	unlink(d->cfg.socket);
	_exit(0);
}

/* Connections accepted, quick requests answered: ANSWERERS threads. */
struct answerers {
	struct nm_daemon *d;
	int unix_fd, tcp_fd;
	int stop_fd;		/* an eventfd, readable once stopping */
};

/*
 * The answerer's own epoll set: the stop eventfd, and the listening
 * sockets with EPOLLEXCLUSIVE, so that a connection wakes one answerer,
 * not all of them to race for one accept.  -1 when it cannot be made.
 */
static int answerer_epoll(const struct answerers *a)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	ev.data.fd = a->stop_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, a->stop_fd, &ev) < 0)
		goto fail;
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = a->unix_fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, a->unix_fd, &ev) < 0)
		goto fail;
	ev.data.fd = a->tcp_fd;
	if (a->tcp_fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, a->tcp_fd, &ev) < 0)
		goto fail;
	return ep;
fail:
	close(ep);
	return -1;
}

static void *answerer(void *arg)
{
	const struct answerers *a = arg;
	struct epoll_event ev[3];
	int ep = answerer_epoll(a);

	if (ep < 0) {
		nm_log(LOG_ERR, "answering thread: epoll: %s", strerror(errno));
		return NULL;
	}
	/* Named, so that ps -L and top -H tell where the CPU time goes. */
	pthread_setname_np(pthread_self(), "nm-answer");
	/* Every request passes through an accept: it is answering too. */
	nm_priority_serve();
	for (;;) {
		int n = epoll_wait(ep, ev, 3, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			nm_log(LOG_ERR, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.fd == a->stop_fd) {
				close(ep);
				return NULL;
			}
			/* Non-blocking: another answerer may have taken it. */
			accept_one(a->d, ev[i].data.fd,
				   ev[i].data.fd == a->tcp_fd);
		}
	}
	close(ep);
	return NULL;
}

/* The signal that stops the daemon; -1 when signals cannot be read. */
static int wait_signal(int sigfd)
{
	struct pollfd p = { .fd = sigfd, .events = POLLIN };
	struct signalfd_siginfo si;

	for (;;) {
		int n = poll(&p, 1, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			nm_log(LOG_ERR, "poll: %s", strerror(errno));
			return -1;
		}
		if (read(sigfd, &si, sizeof(si)) == sizeof(si))
			return (int)si.ssi_signo;
	}
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int nm_server_run(struct nm_daemon *d, int unix_fd, int tcp_fd, int sigfd)
{
	struct answerers a = { .d = d, .unix_fd = unix_fd, .tcp_fd = tcp_fd };
	const uint64_t one = 1;
	pthread_t th[ANSWERERS];
	int n = 0, sig = -1;

	a.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (a.stop_fd < 0 || set_nonblock(unix_fd) < 0 ||
	    (tcp_fd >= 0 && set_nonblock(tcp_fd) < 0))
		nm_log(LOG_ERR, "cannot set up the listening sockets: %s",
		       strerror(errno));
	else
		while (n < ANSWERERS &&
		       pthread_create(&th[n], NULL, answerer, &a) == 0)
			n++;
	if (n)
		sig = wait_signal(sigfd);
	else
		nm_log(LOG_ERR, "cannot start the answering threads");
	/* No more accepts; a quick request under way is answered first. */
	if (a.stop_fd >= 0 &&
	    write(a.stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		nm_log(LOG_ERR, "cannot stop the answering threads: %s",
		       strerror(errno));
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	if (a.stop_fd >= 0)
		close(a.stop_fd);
	close(unix_fd);
	if (tcp_fd >= 0)
		close(tcp_fd);
	stop_serving(d, sig);
	return sig;
}
