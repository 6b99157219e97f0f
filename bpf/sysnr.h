/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The x86_64 syscall numbers (asm/unistd_64.h) the sys_exit programs tell apart. */
#ifndef LT_SYSNR_H
#define LT_SYSNR_H

#define NR_close		3
#define NR_close_range		436
#define NR_open			2
#define NR_pipe			22
#define NR_dup			32
#define NR_dup2			33
#define NR_socket		41
#define NR_accept		43
#define NR_socketpair		53
#define NR_fcntl		72
#define NR_creat		85
#define NR_epoll_create		213
#define NR_inotify_init		253
#define NR_openat		257
#define NR_signalfd		282
#define NR_eventfd		284
#define NR_accept4		288
#define NR_signalfd4		289
#define NR_eventfd2		290
#define NR_epoll_create1	291
#define NR_dup3			292
#define NR_pipe2		293
#define NR_inotify_init1	294
#define NR_perf_event_open	298
#define NR_fanotify_init	300
#define NR_open_by_handle_at	304
#define NR_memfd_create		319
#define NR_userfaultfd		323
#define NR_io_uring_setup	425
#define NR_pidfd_open		434
#define NR_openat2		437
#define NR_pidfd_getfd		438
#define NR_memfd_secret		447
#define NR_timer_create		222
#define NR_timer_settime	223
#define NR_timer_delete		226
#define NR_timerfd_create	283
#define NR_timerfd_settime	286

#endif /* LT_SYSNR_H */
