/* SPDX-License-Identifier: MIT */
#include <stdio.h>

int main(void)
{
	puts("nestvmm: skeleton");
	return 0;
}
