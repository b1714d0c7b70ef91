/* SPDX-License-Identifier: MIT */
/* The `nestvmm bench` table and its JSON twin (same fields). */
#ifndef NESTVMM_BENCH_TABLE_H
#define NESTVMM_BENCH_TABLE_H

#include <stdio.h>

struct bench_outcome;

void bench_table_print(FILE *f, const struct bench_outcome *out);
void bench_table_print_json(FILE *f, const struct bench_outcome *out);

#endif
