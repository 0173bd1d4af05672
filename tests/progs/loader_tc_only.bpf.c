// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* Test-only: an object without any XDP program, which `xdpctl load` must refuse.
 * Test: tests/cli_test.cpp
 */
#include "lib/common.h"

SEC("tc")
int only_tc(struct __sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
