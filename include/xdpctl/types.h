/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Fixed-width types for headers shared by BPF programs (vmlinux.h), user space (uapi) and the
 * kernel module (kernel types). Each side already has __u8..__u64; this only picks the header.
 */
#ifndef XDPCTL_TYPES_H
#define XDPCTL_TYPES_H

#if defined(__VMLINUX_H__)
/* BPF side: vmlinux.h defines __u8..__u64 and __be16. */
#elif defined(__KERNEL__)
#include <linux/types.h>
#else
#include <linux/types.h>
#endif

#endif
