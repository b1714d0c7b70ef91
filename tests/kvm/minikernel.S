/* SPDX-License-Identifier: MIT */
/*
 * The smallest guest `nestvmm run` boots: a bzImage (boot protocol 2.15,
 * 64-bit entry) whose kernel is a few instructions, so the CLI's run path
 * (console, signals, exit statuses) can be tested on /dev/kvm without Linux.
 * Assembled and linked flat at 0 (tests/kvm/meson.build): the file itself is
 * the image. What it does is chosen by the first byte of its command line:
 *   s<digit>  write the digit to the debug-exit port 0x501, then halt
 *   b<char>   write the character to the boot timer 0x507, then 0 to the
 *             debug-exit port
 *   f         print "flood" lines to COM1 forever
 *   h         print the banner, then halt with interrupts off
 *   other     print the banner, then echo every byte COM1 receives
 * The banner is "minikernel: up\n". It uses no interrupts and no memory but
 * its own: the boot protocol's zero page pointer (%rsi) gives the command line.
 */
#define COM1	 0x3f8
#define COM1_LSR (COM1 + 5)
#define DEBUG_EXIT 0x501
#define BOOT_TIMER 0x507

	.text
	.globl _start
_start:
	.org 0x1f1
	.byte 1					/* setup_sects: the boot sector + 1 */
	.word 0					/* root_flags */
	.long (pm_end - pm_start) / 16		/* syssize, in 16-byte units */
	.word 0, 0, 0				/* ram_size, vid_mode, root_dev */
	.word 0xaa55				/* boot_flag (0x1fe) */
	.byte 0xeb, hdr_end - 0x202		/* jump; its offset is the header length */
	.ascii "HdrS"				/* 0x202 */
	.word 0x020f				/* version */
	.org 0x211
	.byte 0x01				/* loadflags: LOADED_HIGH */
	.org 0x22c
	.long 0x7fffffff			/* initrd_addr_max */
	.long 0x200000				/* kernel_alignment */
	.byte 1					/* relocatable_kernel */
	.byte 21				/* min_alignment */
	.word 0x0001				/* xloadflags: XLF_KERNEL_64 */
	.long 4095				/* cmdline_size */
	.org 0x258
	.quad 0x1000000				/* pref_address */
	.long 0x100000				/* init_size */
	.long 0					/* handover_offset */
	.long 0					/* kernel_info_offset */
hdr_end:

	/* The protected-mode part: loaded at pref_address; 64-bit entry at +0x200. */
	.org 0x400
pm_start:
	.org 0x600
	.code64
entry64:
	lea	stack_top(%rip), %rsp
	mov	0x228(%rsi), %ebx		/* hdr.cmd_line_ptr */
	movzbl	(%rbx), %eax
	cmp	$'s', %al
	je	status
	cmp	$'b', %al
	je	mark
	cmp	$'f', %al
	je	flood
	lea	banner(%rip), %rdi
	call	puts
	cmp	$'h', %al
	je	halt
echo:
	mov	$COM1_LSR, %dx
1:	inb	%dx, %al
	test	$1, %al				/* data ready */
	jz	1b
	mov	$COM1, %dx
	inb	%dx, %al
	outb	%al, %dx
	jmp	echo

mark:
	movzbl	1(%rbx), %eax
	mov	$BOOT_TIMER, %dx
	outb	%al, %dx
	xor	%eax, %eax
	mov	$DEBUG_EXIT, %dx
	outb	%al, %dx
	jmp	halt

status:
	movzbl	1(%rbx), %eax
	sub	$'0', %eax
	mov	$DEBUG_EXIT, %dx
	outb	%al, %dx
halt:
	cli
	hlt
	jmp	halt

flood:
	lea	floodline(%rip), %rdi
	call	puts
	jmp	flood

/* Print the NUL-terminated string at %rdi on COM1 (the UART never stalls). Keeps %al. */
puts:
	mov	%eax, %ecx
	mov	$COM1, %dx
2:	movzbl	(%rdi), %eax
	test	%al, %al
	jz	3f
	outb	%al, %dx
	inc	%rdi
	jmp	2b
3:	mov	%ecx, %eax
	ret

banner:
	.asciz "minikernel: up\n"
floodline:
	.asciz "minikernel: flood\n"

	.balign 16
	.skip 1024
stack_top:
	.balign 16
pm_end:
