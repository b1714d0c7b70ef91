/* SPDX-License-Identifier: MIT */
#include "bench/bench_vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench/bench_disk.h"
#include "bench/native.h"
#include "bench/workloads.h"
#include "vmm/kvm_stats.h"
#include "vmm/longmode.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_exit_trace.h"

extern const uint8_t bench_guest_image[], bench_guest_image_end[];

struct bench_vcpu {
	uint64_t *stats_begin; /* KVM vCPU stats at the last BEGIN */
	uint64_t *stats_now;
	int exits_idx;	    /* index of "exits" in the vCPU stats, -1 if absent */
	int nested_run_idx; /* "nested_run", -1 if absent */
	uint64_t user_exits_begin;
	unsigned int slot; /* index in the workload list of the run in progress */
	struct exit_reason_counts *reasons_begin; /* the exit trace at the last BEGIN */
};

struct bench_ctx {
	struct vm *vm;
	const struct bench_options *opt;
	struct bench_outcome *out;
	struct bench_vcpu cpus[BENCH_MAX_CPUS];
};

void bench_options_default(struct bench_options *opt)
{
	size_t nr;
	const struct bench_workload_info *w = bench_workloads(&nr);

	memset(opt, 0, sizeof(*opt));
	opt->nr_cpus = 1;
	opt->mem_size = 256ULL << 20;
	opt->min_time_us = 100000;
	opt->native = true;
	for (size_t i = 0; i < nr && opt->nr_workloads < BENCH_MAX_WORKLOADS; i++)
		if (w[i].in_default)
			opt->workloads[opt->nr_workloads++] = w[i].id;
}

static const char *const vector_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#MF?", "#TS",
    "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE",  "#CP",
};

static const char *const blk_fault_names[] = {
    [BENCH_BLK_NO_DEVICE] = "no virtio-blk device on PCI bus 0",
    [BENCH_BLK_BAR] = "BAR 0 is not a placed 64-bit memory BAR",
    [BENCH_BLK_CAPS] = "virtio capabilities missing or outside BAR 0",
    [BENCH_BLK_FEATURES] = "feature negotiation failed",
    [BENCH_BLK_QUEUE] = "queue 0 missing or too small",
    [BENCH_BLK_CAPACITY] = "disk smaller than 4 KiB",
    [BENCH_BLK_STATUS] = "a read completed with an error status",
    [BENCH_BLK_DATA] = "a read returned the wrong data",
    [BENCH_BLK_USED_ID] = "the used ring named a request not in flight",
    [BENCH_BLK_TIMEOUT] = "no completion for 10 s",
};

void bench_skip_describe(uint32_t skip, const struct nested_exposure *nested, char *buf, size_t len)
{
	switch (skip) {
	case BENCH_SKIP_NO_SVM:
		if (nested->kind == NESTED_VMX)
			snprintf(buf, len, "the guest has VMX, not SVM");
		else if (nested->mode == NESTED_OFF)
			snprintf(buf, len, "no SVM in the guest (--nested off)");
		else if (nested->kind == NESTED_NONE && nested->none_why[0])
			snprintf(buf, len, "no SVM in the guest: %s", nested->none_why);
		else
			snprintf(buf, len, "no SVM in the guest's CPUID");
		break;
	case BENCH_SKIP_SVM_DIS:
		snprintf(buf, len, "SVM is locked off in the guest (VM_CR.SVMDIS)");
		break;
	case BENCH_SKIP_NO_ASIDS:
		snprintf(buf, len, "CPUID 0x8000000A offers the guest no ASID for an inner guest");
		break;
	default:
		snprintf(buf, len, "skipped by the guest (reason %u)", skip);
		break;
	}
}

void bench_fault_describe(const struct bench_fault *f, char *buf, size_t len)
{
	if (f->vector == BENCH_FAULT_SVM) {
		snprintf(buf, len,
			 "bench hypervisor: unexpected #VMEXIT 0x%llx (EXITINFO1 0x%llx) at inner "
			 "RIP 0x%llx",
			 (unsigned long long)f->error, (unsigned long long)f->cr2,
			 (unsigned long long)f->rip);
		return;
	}
	if (f->vector == BENCH_FAULT_BLK) {
		uint64_t reason = f->error >> 32;
		const char *what = reason < sizeof(blk_fault_names) / sizeof(blk_fault_names[0]) &&
					   blk_fault_names[reason]
				       ? blk_fault_names[reason]
				       : "unknown driver error";

		snprintf(buf, len, "virtio-blk driver: %s (detail 0x%llx)", what,
			 (unsigned long long)(f->error & 0xffffffffu));
		return;
	}

	const char *name =
	    f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector] : "exception";

	snprintf(buf, len, "%s (vector %llu) error 0x%llx at RIP 0x%llx (CS 0x%llx, CR2 0x%llx)",
		 name, (unsigned long long)f->vector, (unsigned long long)f->error,
		 (unsigned long long)f->rip, (unsigned long long)f->cs, (unsigned long long)f->cr2);
}

static void protocol_error(struct bench_ctx *ctx, unsigned int cpu, const char *what)
{
	char why[200];

	snprintf(why, sizeof(why), "bench guest protocol error on vCPU %u: %s", cpu, what);
	vm_request_stop(ctx->vm, VM_EXIT_GUEST_CRASH, why);
}

static void snapshot(struct vcpu *v, uint64_t *values)
{
	if (v->stats && values)
		kvm_stats_read(v->stats, values);
}

/*
 * The exit trace per run: only with one vCPU, since the trace adds up all
 * the VM's threads. Read at BEGIN and RESULT, on the vCPU's own thread, so
 * the two doorbell exits are in the difference (one IOIO each).
 */
static bool reasons_per_run(struct bench_ctx *ctx)
{
	return ctx->vm->exit_trace_on && ctx->vm->nr_vcpus == 1;
}

static void reasons_begin(struct bench_ctx *ctx, struct vcpu *v)
{
	struct bench_vcpu *bv = &ctx->cpus[v->id];

	if (!reasons_per_run(ctx))
		return;
	if (!bv->reasons_begin)
		bv->reasons_begin = calloc(1, sizeof(*bv->reasons_begin));
	if (bv->reasons_begin && vm_exit_trace_read(ctx->vm, bv->reasons_begin) < 0) {
		free(bv->reasons_begin);
		bv->reasons_begin = NULL;
	}
}

static void run_reasons(struct bench_ctx *ctx, struct vcpu *v, struct bench_result *r)
{
	struct bench_vcpu *bv = &ctx->cpus[v->id];
	struct exit_reason_counts *now, *diff;

	if (!reasons_per_run(ctx) || !bv->reasons_begin)
		return;
	now = malloc(sizeof(*now));
	diff = malloc(sizeof(*diff));
	if (now && diff && vm_exit_trace_read(ctx->vm, now) == 0) {
		exit_reason_counts_sub(diff, now, bv->reasons_begin);
		r->nr_reasons =
		    diff->nr < BENCH_MAX_REASONS ? (unsigned int)diff->nr : BENCH_MAX_REASONS;
		memcpy(r->reasons, diff->r, r->nr_reasons * sizeof(r->reasons[0]));
	}
	free(now);
	free(diff);
}

static void on_result(struct bench_ctx *ctx, struct vcpu *v, const struct bench_report *rep)
{
	struct bench_vcpu *bv = &ctx->cpus[v->id];
	struct bench_result *r;

	if (bv->slot >= ctx->out->nr_workloads) {
		protocol_error(ctx, v->id, "more results than workloads");
		return;
	}
	if (rep->workload != ctx->opt->workloads[bv->slot]) {
		protocol_error(ctx, v->id, "result for a workload that was not asked for");
		return;
	}
	r = &ctx->out->results[v->id][bv->slot];
	*r = (struct bench_result){
	    .valid = true,
	    .workload = rep->workload,
	    .cpu = v->id,
	    .cpl = rep->cpl,
	    .iters = rep->iters,
	    .cycles = rep->cycles,
	    .value = rep->value,
	};
	/* Both counters include the exit of this RESULT doorbell itself; the
	 * user-exit counter does not yet include the BEGIN doorbell's exit. */
	if (bv->exits_idx >= 0) {
		uint64_t d;

		snapshot(v, bv->stats_now);
		d = bv->stats_now[bv->exits_idx] - bv->stats_begin[bv->exits_idx];
		r->kvm_exits = d ? d - 1 : 0;
		r->has_kvm_exits = true;
		if (bv->nested_run_idx >= 0) {
			r->nested_runs =
			    bv->stats_now[bv->nested_run_idx] - bv->stats_begin[bv->nested_run_idx];
			r->has_nested_runs = true;
		}
	}
	if (bench_workload_is_svm(rep->workload)) {
		r->skip = rep->skip;
		r->svm_features = rep->svm_features;
		r->inner_exits = rep->inner_exits;
		r->entry_min = rep->entry_min;
		r->entry_sum = rep->entry_sum;
		r->entry_max = rep->entry_max;
		r->exit_min = rep->exit_min;
		r->exit_sum = rep->exit_sum;
		r->exit_max = rep->exit_max;
	}
	r->user_exits = v->user_exits - bv->user_exits_begin;
	r->user_exits = r->user_exits ? r->user_exits - 1 : 0;
	run_reasons(ctx, v, r);
	if (rep->final)
		bv->slot++;
}

static void doorbell_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	struct bench_ctx *ctx = opaque;
	struct vcpu *v = vcpu_self();
	struct bench_report rep;
	const struct bench_report *mbox;
	uint32_t kind;
	char why[300];

	(void)off;
	if (!v || size != 4)
		return;
	memcpy(&kind, data, sizeof(kind));
	mbox = gpa_to_hva(&ctx->vm->mem, bench_report_addr(v->id), sizeof(*mbox));
	if (!mbox) {
		protocol_error(ctx, v->id, "report mailbox outside RAM");
		return;
	}
	/* One copy: the guest cannot change what we validated under our feet. */
	memcpy(&rep, mbox, sizeof(rep));

	switch (kind) {
	case BENCH_REPORT_READY:
		break;
	case BENCH_REPORT_BEGIN:
		if (ctx->opt->on_begin)
			ctx->opt->on_begin(v, ctx->cpus[v->id].slot, ctx->opt->on_begin_ctx);
		reasons_begin(ctx, v);
		snapshot(v, ctx->cpus[v->id].stats_begin);
		ctx->cpus[v->id].user_exits_begin = v->user_exits;
		break;
	case BENCH_REPORT_RESULT:
		on_result(ctx, v, &rep);
		break;
	case BENCH_REPORT_FAULT: {
		struct bench_fault f = {
		    .happened = true,
		    .cpu = v->id,
		    .workload = ctx->cpus[v->id].slot < ctx->out->nr_workloads
				    ? ctx->opt->workloads[ctx->cpus[v->id].slot]
				    : BENCH_W_NONE,
		    .vector = rep.vector,
		    .error = rep.error,
		    .rip = rep.rip,
		    .cr2 = rep.cr2,
		    .cs = rep.cs,
		};
		char desc[200];

		bench_fault_describe(&f, desc, sizeof(desc));
		snprintf(why, sizeof(why), "guest fault on vCPU %u: %s", v->id, desc);
		pthread_mutex_lock(&ctx->vm->stop_lock);
		if (!ctx->out->fault.happened)
			ctx->out->fault = f;
		pthread_mutex_unlock(&ctx->vm->stop_lock);
		vm_request_stop(ctx->vm, VM_EXIT_GUEST_CRASH, why);
		break;
	}
	case BENCH_REPORT_DONE:
		if (ctx->cpus[v->id].slot != ctx->out->nr_workloads)
			protocol_error(ctx, v->id, "DONE before every workload reported");
		else
			vcpu_park(v);
		break;
	default: {
		char what[48];

		snprintf(what, sizeof(what), "unknown report kind %u", kind);
		protocol_error(ctx, v->id, what);
		break;
	}
	}
}

static void sink_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	(void)opaque, (void)off, (void)data, (void)size;
}

static void sink_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	(void)opaque, (void)off;
	memset(data, 0, size);
}

static const struct bus_ops doorbell_ops = {.write = doorbell_write, .read = sink_read};
static const struct bus_ops sink_ops = {.write = sink_write, .read = sink_read};

static int msr_read(void *opaque, struct vcpu *vcpu, uint32_t index, uint64_t *value)
{
	(void)opaque, (void)vcpu;
	if (index != BENCH_MSR_USER)
		return -1;
	*value = BENCH_MSR_USER_VALUE;
	return 0;
}

static int msr_write(void *opaque, struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	(void)opaque, (void)vcpu, (void)index, (void)value;
	return -1; /* read-only: #GP */
}

static const uint32_t bench_msrs[] = {BENCH_MSR_USER};

static char bench_why[256];

static int setup_guest(struct bench_ctx *ctx, const char **why)
{
	struct vm *vm = ctx->vm;
	const struct bench_options *opt = ctx->opt;
	size_t image_len = (size_t)(bench_guest_image_end - bench_guest_image);
	struct bench_params *params;
	void *image;
	int efd, r;

	if (image_len > BENCH_IMAGE_MAX) {
		*why = "bench guest image larger than its load window";
		return -EFBIG;
	}
	r = boot_longmode_setup(&vm->mem);
	image = gpa_to_hva(&vm->mem, BENCH_LOAD_ADDR, image_len);
	params = gpa_to_hva(&vm->mem, BENCH_PARAMS_ADDR, sizeof(*params));
	if (r < 0 || !image || !params) {
		*why = "guest RAM too small for the bench guest";
		return -ENOMEM;
	}
	memcpy(image, bench_guest_image, image_len);

	memset(params, 0, sizeof(*params));
	params->magic = BENCH_MAGIC;
	params->version = BENCH_PROTOCOL_VERSION;
	params->nr_cpus = opt->nr_cpus;
	params->nr_workloads = opt->nr_workloads;
	memcpy(params->workloads, opt->workloads, opt->nr_workloads * sizeof(uint32_t));
	params->min_cycles = opt->fixed_iters ? 0 : opt->min_time_us * vm->tsc_khz / 1000;
	params->start_iters = opt->fixed_iters ? opt->fixed_iters : 64;
	params->mem_size = opt->mem_size;
	for (uint32_t w = 0; w < BENCH_W_COUNT; w++) {
		const struct bench_workload_info *info = bench_workload_by_id(w);

		params->max_iters[w] = opt->fixed_iters ? opt->fixed_iters
				       : info		? info->max_iters
							: 0;
	}

	if (bus_register(&vm->pio, BENCH_PORT_DOORBELL, 4, "bench-doorbell", &doorbell_ops, ctx) <
		0 ||
	    bus_register(&vm->pio, BENCH_PORT_PIO, 4, "bench-pio", &sink_ops, NULL) < 0 ||
	    bus_register(&vm->mmio, BENCH_MMIO_ADDR, 0x1000, "bench-mmio", &sink_ops, NULL) < 0) {
		*why = "cannot register the bench devices";
		return -EEXIST;
	}
	/* Nobody reads these: the kernel completing the write is the whole point. */
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0 || vm_add_ioeventfd(vm, true, BENCH_PORT_PIO_IOEVENTFD, 4, efd) < 0 ||
	    vm_add_ioeventfd(vm, false, BENCH_MMIO_IOEVENTFD_ADDR, 4, efd) < 0) {
		snprintf(bench_why, sizeof(bench_why), "cannot bind the bench ioeventfds: %s",
			 strerror(errno));
		*why = bench_why;
		return -errno;
	}
	r = vm_set_msr_ops(
	    vm,
	    &(struct vm_msr_ops){
		.read = msr_read, .write = msr_write, .indices = bench_msrs, .nr_indices = 1},
	    why);
	if (r < 0)
		return r;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct bench_vcpu *bv = &ctx->cpus[i];

		bv->exits_idx = v->stats ? kvm_stats_index(v->stats, "exits") : -1;
		bv->nested_run_idx = v->stats ? kvm_stats_index(v->stats, "nested_run") : -1;
		if (bv->exits_idx >= 0) {
			bv->stats_begin = calloc(kvm_stats_nr(v->stats), sizeof(uint64_t));
			bv->stats_now = calloc(kvm_stats_nr(v->stats), sizeof(uint64_t));
			if (!bv->stats_begin || !bv->stats_now)
				return -ENOMEM;
		}
		r = vcpu_set_long_mode(v, BENCH_LOAD_ADDR, BENCH_PARAMS_ADDR, i);
		if (r < 0) {
			snprintf(bench_why, sizeof(bench_why), "vCPU %u register set-up: %s", i,
				 strerror(-r));
			*why = bench_why;
			return r;
		}
	}
	return 0;
}

static void run_native(const struct bench_options *opt, struct bench_outcome *out, uint64_t tsc_khz)
{
	for (unsigned int w = 0; w < out->nr_workloads; w++) {
		const struct bench_workload_info *info = bench_workload_by_id(opt->workloads[w]);
		struct bench_native n;

		if (!info || !info->compute)
			continue;
		if (bench_native_run(info->id,
				     opt->fixed_iters ? 0 : opt->min_time_us * tsc_khz / 1000,
				     opt->fixed_iters ? opt->fixed_iters : 64,
				     opt->fixed_iters ? opt->fixed_iters : info->max_iters, &n) < 0)
			continue;
		for (unsigned int c = 0; c < out->nr_cpus; c++) {
			struct bench_result *r = &out->results[c][w];

			r->has_native = true;
			r->native_iters = n.iters;
			r->native_cycles = n.cycles;
			r->native_value = n.value;
		}
	}
}

struct bench_session {
	struct vm vm;
	struct bench_ctx ctx;
	struct bench_options opt;
	struct bench_disk disk;
	bool has_disk;
};

static bool wants_disk(const struct bench_options *opt)
{
	for (unsigned int i = 0; i < opt->nr_workloads; i++)
		if (bench_workload_uses_disk(opt->workloads[i]))
			return true;
	return false;
}

/* The disk comes up before the vCPUs run; the guest finds it on PCI. */
static int setup_disk(struct bench_session *s, struct bench_outcome *out, const char **why)
{
	uint64_t size = s->opt.disk_size ? s->opt.disk_size : BENCH_DISK_DEFAULT_SIZE;
	int r;

	s->has_disk = true;
	r = bench_disk_attach(&s->disk, &s->vm, size, s->opt.disk_fill, bench_why,
			      sizeof(bench_why));
	if (r < 0) {
		*why = bench_why;
		return r;
	}
	snprintf(out->disk_note, sizeof(out->disk_note), "%s", s->disk.note);
	return 0;
}

int bench_options_check(const struct bench_options *opt, const char **why)
{
	if (opt->nr_cpus == 0 || opt->nr_cpus > BENCH_MAX_CPUS) {
		snprintf(bench_why, sizeof(bench_why), "the bench guest runs on 1 to %d vCPUs",
			 BENCH_MAX_CPUS);
		*why = bench_why;
		return -EINVAL;
	}
	if (opt->mem_size < BENCH_MIN_MEM) {
		snprintf(bench_why, sizeof(bench_why),
			 "the bench guest needs at least %llu MiB of RAM",
			 (unsigned long long)(BENCH_MIN_MEM >> 20));
		*why = bench_why;
		return -EINVAL;
	}
	if (opt->nr_workloads == 0 || opt->nr_workloads > BENCH_MAX_WORKLOADS) {
		*why = "no workloads to run";
		return -EINVAL;
	}
	/* One disk queue, one driver: two vCPUs would both bring the device up. */
	if (opt->nr_cpus > 1 && wants_disk(opt)) {
		*why = "the blk workloads run on one vCPU (drop --cpus)";
		return -EINVAL;
	}
	return 0;
}

int bench_session_create(const struct bench_options *opt, struct bench_outcome *out,
			 struct bench_session **session, const char **why)
{
	struct vm_config cfg = {
	    .mem_size = opt->mem_size,
	    .nr_vcpus = opt->nr_cpus,
	    .stats = true,
	    .kvm_path = opt->kvm_path,
	    .nested = opt->nested,
	    .trace_exits = opt->trace_exits,
	};
	struct bench_session *s;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = bench_options_check(opt, why)) < 0)
		return r;
	out->nr_cpus = opt->nr_cpus;
	out->nr_workloads = opt->nr_workloads;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->opt = *opt;
	s->ctx = (struct bench_ctx){.vm = &s->vm, .opt = &s->opt, .out = out};
	r = vm_create(&s->vm, &cfg, why);
	if (r == 0)
		r = setup_guest(&s->ctx, why);
	if (r == 0 && wants_disk(opt))
		r = setup_disk(s, out, why);
	if (r < 0) {
		bench_session_destroy(s);
		return r;
	}
	out->tsc_khz = s->vm.tsc_khz;
	nested_describe(&s->vm.nested, out->nested_note, sizeof(out->nested_note));
	out->nested = s->vm.nested;
	*session = s;
	return 0;
}

struct vm *bench_session_vm(struct bench_session *s)
{
	return &s->vm;
}

int bench_session_run(struct bench_session *s)
{
	struct bench_outcome *out = s->ctx.out;

	out->exit_code = vm_run(&s->vm);
	snprintf(out->stop_why, sizeof(out->stop_why), "%s", s->vm.stop_why);
	if (s->opt.trace_exits && s->vm.nr_vcpus > 1)
		snprintf(out->reasons_why, sizeof(out->reasons_why),
			 "per run only on one vCPU: the trace adds up the VM's threads");
	else if (s->opt.trace_exits && !s->vm.exit_counts)
		snprintf(out->reasons_why, sizeof(out->reasons_why), "%s", s->vm.exit_trace_why);
	return out->exit_code;
}

void bench_session_destroy(struct bench_session *s)
{
	if (s->has_disk)
		bench_disk_destroy(&s->disk);
	for (unsigned int i = 0; i < BENCH_MAX_CPUS; i++) {
		free(s->ctx.cpus[i].reasons_begin);
		free(s->ctx.cpus[i].stats_begin);
		free(s->ctx.cpus[i].stats_now);
	}
	vm_destroy(&s->vm);
	free(s);
}

int bench_vm_run(const struct bench_options *opt, struct bench_outcome *out, bench_vm_done_fn done,
		 void *done_ctx, const char **why)
{
	struct bench_session *s;
	int r = bench_session_create(opt, out, &s, why);

	if (r < 0)
		return r;
	bench_session_run(s);
	if (done)
		done(&s->vm, done_ctx);
	bench_session_destroy(s);
	if (opt->native && out->exit_code == 0)
		run_native(opt, out, out->tsc_khz);
	return 0;
}
